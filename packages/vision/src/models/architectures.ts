/**
 * Model families of the ASAM paper's image experiments (Kwon et al., ICML 2021, Tables 2-4), built with the
 * tfjs-layers functional API in NHWC layout. Every builder returns an un-initialised graph (zeros); the
 * registry applies the seeded He initialisation afterwards.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { Builder, type Sym } from './layers.ts';

/** Options every builder receives. */
export interface BuildArgs {
  numClasses: number;
  inputShape: [number, number, number];
  prefix: string;
  /** Dropout rate (WRN only). */
  dropout: number;
}

function finish(b: Builder, input: Sym, logits: Sym): tfl.LayersModel {
  return tfl.model({ inputs: input, outputs: logits, name: b.prefix });
}

// ---------------------------------------------------------------------------------------------------------
/**
 * CIFAR ResNet (He et al. 2016, §4.2): 3x3 conv 16 → 3 stages of n basic blocks (widths w, 2w, 4w;
 * stride 2 at stages 2 and 3) → global average pool → dense. Depth = 6n + 2.
 * Shortcut "option A": identity; at a down-sampling block x[:, ::2, ::2, :] zero-padded by planes/4 channels on
 * each side (parameter-free, the variant behind the published 0.27M / 0.85M / 1.7M counts).
 */
export function cifarResNet(a: BuildArgs, n: number, widths: [number, number, number]): tfl.LayersModel {
  const b = new Builder(a.prefix);
  const input = tfl.input({ shape: a.inputShape, name: b.n('input') });
  let x = b.relu(b.bn(b.conv(input, 'conv1', widths[0], 3), 'bn1'), 'relu1');
  let inC = widths[0];
  for (let s = 0; s < 3; s++) {
    const w = widths[s] as number;
    for (let i = 0; i < n; i++) {
      const stride = s > 0 && i === 0 ? 2 : 1;
      const p = `s${s + 1}b${i}`;
      let h = b.relu(b.bn(b.conv(x, `${p}.conv1`, w, 3, stride), `${p}.bn1`), `${p}.relu1`);
      h = b.bn(b.conv(h, `${p}.conv2`, w, 3), `${p}.bn2`);
      let sc = x;
      if (stride !== 1 || inC !== w) {
        if (stride !== 1) sc = b.avgPool(sc, `${p}.sub`, 1, stride); // 1x1 average pool, stride 2 = x[::2, ::2]
        const extra = w - inC;
        sc = b.channelPad(sc, `${p}.pad`, extra >> 1, extra - (extra >> 1));
      }
      x = b.relu(b.add(h, sc, `${p}.add`), `${p}.relu2`);
      inC = w;
    }
  }
  const logits = b.dense(b.gap(x, 'gap'), 'fc', a.numClasses);
  return finish(b, input, logits);
}

// ---------------------------------------------------------------------------------------------------------
/**
 * Wide ResNet WRN-d-k (Zagoruyko & Komodakis 2016), pre-activation: conv3x3 16 → 3 groups of n = (d-4)/6 blocks
 * of widths 16k, 32k, 64k: BN-ReLU-conv3x3-BN-ReLU-dropout-conv3x3; when the shape changes the shortcut is a 1x1
 * conv (no bias) on the pre-activated input → BN-ReLU → global average pool → dense.
 */
export function wideResNet(a: BuildArgs, depth: number, k: number): tfl.LayersModel {
  if ((depth - 4) % 6 !== 0) throw new Error(`WRN depth ${depth} must be 6n+4`);
  const n = (depth - 4) / 6;
  const b = new Builder(a.prefix);
  const input = tfl.input({ shape: a.inputShape, name: b.n('input') });
  let x = b.conv(input, 'conv1', 16, 3);
  let inC = 16;
  const widths = [16 * k, 32 * k, 64 * k];
  for (let s = 0; s < 3; s++) {
    const w = widths[s] as number;
    for (let i = 0; i < n; i++) {
      const stride = s > 0 && i === 0 ? 2 : 1;
      const p = `g${s + 1}b${i}`;
      const equal = inC === w && stride === 1;
      const pre = b.relu(b.bn(x, `${p}.bn1`), `${p}.relu1`);
      let h = b.conv(pre, `${p}.conv1`, w, 3, stride);
      h = b.relu(b.bn(h, `${p}.bn2`), `${p}.relu2`);
      if (a.dropout > 0) h = b.dropout(h, `${p}.drop`, a.dropout);
      h = b.conv(h, `${p}.conv2`, w, 3);
      const sc = equal ? x : b.conv(pre, `${p}.shortcut`, w, 1, stride, 0);
      x = b.add(h, sc, `${p}.add`);
      inC = w;
    }
  }
  x = b.relu(b.bn(x, 'bn_final'), 'relu_final');
  const logits = b.dense(b.gap(x, 'gap'), 'fc', a.numClasses);
  return finish(b, input, logits);
}

// ---------------------------------------------------------------------------------------------------------
/**
 * PyramidNet (Han, Kim & Kim 2017), CIFAR: widths grow additively by α/N per block (N = total blocks), from 16 to
 * 16 + α. Basic block: BN-conv3x3-BN-ReLU-conv3x3-BN; bottleneck (×4): BN-conv1x1-BN-ReLU-conv3x3-BN-ReLU-conv1x1-BN.
 * Shortcut: 2x2 average pool when down-sampling, then zero channels appended (parameter-free).
 * Depth = 6n+2 (basic) or 9n+2 (bottleneck). Follows the reference code's rounding of widths.
 */
export function pyramidNet(a: BuildArgs, depth: number, alpha: number, bottleneck: boolean): tfl.LayersModel {
  const per = bottleneck ? 9 : 6;
  if ((depth - 2) % per !== 0) throw new Error(`PyramidNet depth ${depth} must be ${per}n+2`);
  const n = (depth - 2) / per;
  const ratio = bottleneck ? 4 : 1;
  const addrate = alpha / (3 * n);
  const b = new Builder(a.prefix);
  const input = tfl.input({ shape: a.inputShape, name: b.n('input') });
  let x = b.bn(b.conv(input, 'conv1', 16, 3), 'bn1');
  let inC = 16;
  let fdim = 16;
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < n; i++) {
      const stride = s > 0 && i === 0 ? 2 : 1;
      fdim += addrate;
      const planes = Math.round(fdim);
      const outC = planes * ratio;
      const p = `s${s + 1}b${i}`;
      let h = b.bn(x, `${p}.bn1`);
      if (bottleneck) {
        h = b.relu(b.bn(b.conv(h, `${p}.conv1`, planes, 1, 1, 0), `${p}.bn2`), `${p}.relu1`);
        h = b.relu(b.bn(b.conv(h, `${p}.conv2`, planes, 3, stride), `${p}.bn3`), `${p}.relu2`);
        h = b.bn(b.conv(h, `${p}.conv3`, outC, 1, 1, 0), `${p}.bn4`);
      } else {
        h = b.relu(b.bn(b.conv(h, `${p}.conv1`, planes, 3, stride), `${p}.bn2`), `${p}.relu1`);
        h = b.bn(b.conv(h, `${p}.conv2`, outC, 3), `${p}.bn3`);
      }
      let sc = x;
      if (stride !== 1) sc = b.avgPool(sc, `${p}.down`, 2, 2);
      if (outC !== inC) sc = b.channelPad(sc, `${p}.pad`, 0, outC - inC);
      x = b.add(h, sc, `${p}.add`);
      inC = outC;
    }
  }
  x = b.relu(b.bn(x, 'bn_final'), 'relu_final');
  const logits = b.dense(b.gap(x, 'gap'), 'fc', a.numClasses);
  return finish(b, input, logits);
}

// ---------------------------------------------------------------------------------------------------------
/** VGG configurations ('M' = 2x2 max pool). */
export const VGG_CFG: Record<string, (number | 'M')[]> = {
  vgg11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  vgg19: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
};

/**
 * VGG with BatchNorm, CIFAR variant (Simonyan & Zisserman 2015; the common CIFAR adaptation): conv3x3 (with bias)
 * -BN-ReLU stacks and 2x2 max pools down to 1x1x512, then a single dense classifier.
 */
export function vggBn(a: BuildArgs, cfg: (number | 'M')[], widthScale = 1): tfl.LayersModel {
  const b = new Builder(a.prefix);
  const input = tfl.input({ shape: a.inputShape, name: b.n('input') });
  let x: Sym = input;
  let ci = 0;
  let pi = 0;
  for (const c of cfg) {
    if (c === 'M') {
      x = b.maxPool(x, `pool${pi++}`, 2, 2);
    } else {
      const f = Math.max(1, Math.round(c * widthScale));
      x = b.relu(b.bn(b.conv(x, `conv${ci}`, f, 3, 1, -1, true), `bn${ci}`), `relu${ci}`);
      ci++;
    }
  }
  const logits = b.dense(b.flatten(x, 'flatten'), 'fc', a.numClasses);
  return finish(b, input, logits);
}

// ---------------------------------------------------------------------------------------------------------
/**
 * ImageNet ResNet (He et al. 2016; torchvision layout, "v1.5": stride on the 3x3 conv of bottlenecks):
 * conv7x7/2 64 - BN - ReLU - maxpool3x3/2 → 4 stages (64,128,256,512)·expansion → GAP → dense.
 * Down-sampling shortcut: 1x1 conv (stride) + BN ("option B").
 */
export function imagenetResNet(a: BuildArgs, blocks: [number, number, number, number], bottleneck: boolean,
  base = 64): tfl.LayersModel {
  const b = new Builder(a.prefix);
  const expansion = bottleneck ? 4 : 1;
  const input = tfl.input({ shape: a.inputShape, name: b.n('input') });
  let x = b.relu(b.bn(b.conv(input, 'conv1', base, 7, 2, 3), 'bn1'), 'relu1');
  x = b.maxPool(x, 'maxpool', 3, 2, 1);
  let inC = base;
  for (let s = 0; s < 4; s++) {
    const planes = base * 2 ** s;
    const outC = planes * expansion;
    for (let i = 0; i < (blocks[s] as number); i++) {
      const stride = s > 0 && i === 0 ? 2 : 1;
      const p = `layer${s + 1}.${i}`;
      let h: Sym;
      if (bottleneck) {
        h = b.relu(b.bn(b.conv(x, `${p}.conv1`, planes, 1, 1, 0), `${p}.bn1`), `${p}.relu1`);
        h = b.relu(b.bn(b.conv(h, `${p}.conv2`, planes, 3, stride), `${p}.bn2`), `${p}.relu2`);
        h = b.bn(b.conv(h, `${p}.conv3`, outC, 1, 1, 0), `${p}.bn3`);
      } else {
        h = b.relu(b.bn(b.conv(x, `${p}.conv1`, planes, 3, stride), `${p}.bn1`), `${p}.relu1`);
        h = b.bn(b.conv(h, `${p}.conv2`, outC, 3), `${p}.bn2`);
      }
      let sc = x;
      if (stride !== 1 || inC !== outC) {
        sc = b.bn(b.conv(x, `${p}.downsample`, outC, 1, stride, 0), `${p}.downsample_bn`);
      }
      x = b.relu(b.add(h, sc, `${p}.add`), `${p}.relu_out`);
      inC = outC;
    }
  }
  const logits = b.dense(b.gap(x, 'gap'), 'fc', a.numClasses);
  return finish(b, input, logits);
}
