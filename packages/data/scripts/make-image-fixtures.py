"""Reference numbers for the JPEG decoder and the resampler, made with Pillow (libjpeg + PIL's bilinear
resize, the path torchvision's PIL transforms use).

Run: /usr/bin/python3 scripts/make-image-fixtures.py $ASAM_DATA_DIR/imagenet-samples > test/fixtures/pil-images.json
(Debian: apt-get install python3-pil; this file was made with Pillow 9.4.0.)

- decode: for each sample JPEG, PIL's mode, size, the per-channel mean of the RGB image and the means of an
  8x8 grid of blocks (robust to the small IDCT / chroma-upsampling differences between decoders).
- resize: a synthetic 37x23 RGB image, pixel (x, y) = ((7x + 3y) % 256, (x*y) % 256, (255 - 5x + 11y) % 256),
  resized with Image.BILINEAR to several sizes (full image and with a box), the exact output bytes.
"""
import json, os, sys
from PIL import Image

root = sys.argv[1]
out = {"pillow": Image.__version__, "decode": [], "resize": []}
train = os.path.join(root, "train")
for wnid in sorted(os.listdir(train)):
    for f in sorted(os.listdir(os.path.join(train, wnid))):
        im = Image.open(os.path.join(train, wnid, f))
        mode = im.mode
        rgb = im.convert("RGB")
        w, h = rgb.size
        px = rgb.load()
        sums = [0, 0, 0]
        grid = [[[0.0, 0.0, 0.0, 0] for _ in range(8)] for _ in range(8)]
        for y in range(h):
            gy = y * 8 // h
            for x in range(w):
                p = px[x, y]
                g = grid[gy][x * 8 // w]
                for c in range(3):
                    sums[c] += p[c]
                    g[c] += p[c]
                g[3] += 1
        out["decode"].append({
            "path": f"train/{wnid}/{f}", "mode": mode, "width": w, "height": h,
            "mean": [s / (w * h) for s in sums],
            "grid": [[[round(g[c] / g[3], 3) for c in range(3)] for g in row] for row in grid],
        })

W, H = 37, 23
src = Image.new("RGB", (W, H))
for y in range(H):
    for x in range(W):
        src.putpixel((x, y), ((7 * x + 3 * y) % 256, (x * y) % 256, (255 - 5 * x + 11 * y) % 256))
for size, box in [((16, 10), None), ((8, 8), None), ((50, 31), None), ((37, 23), None), ((9, 12), (3, 2, 30, 20)), ((24, 24), (10, 5, 22, 17))]:
    r = src.resize(size, Image.BILINEAR, box=box)
    out["resize"].append({"size": list(size), "box": list(box) if box else None, "data": list(r.tobytes())})
json.dump(out, sys.stdout)
