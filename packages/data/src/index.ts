/**
 * @asam/data: datasets in their official formats (CIFAR-10/100 binary, ImageNet folders, IWSLT'14 de-en,
 * Multi30k), seeded randomness, augmentation, label noise, batching, download + verification.
 */
export { resolveDataDir } from './paths.ts';
export { DataNotFoundError, DataFormatError, ChecksumError, downloadCommand } from './errors.ts';
export {
  loadCifar10,
  loadCifar100,
  decodeCifarRecords,
  CIFAR10_MEAN,
  CIFAR10_STD,
  CIFAR100_MEAN,
  CIFAR100_STD,
  CIFAR10_CLASSES,
  CIFAR100_FINE_CLASSES,
  CIFAR100_COARSE_CLASSES,
} from './cifar.ts';
export type { ImageDataset } from './cifar.ts';
export { Rng } from './rng.ts';
export type { RngState } from './rng.ts';
export { normalizationTable, sampleCifarAugment, transformInto } from './augment.ts';
export type { AugmentParams } from './augment.ts';
export { ImageBatcher } from './batcher.ts';
export type { ImageBatch, ImageBatcherOptions, PreparedBatch } from './batcher.ts';
export { labelNoise, saveLabelNoise, loadLabelNoise } from './label-noise.ts';
export type { LabelNoiseKind, LabelNoiseResult, LabelNoiseFile } from './label-noise.ts';
export { readTarEntries, writeTar } from './tar.ts';
export {
  loadMulti30k,
  loadIwslt14,
  MULTI30K_SPLITS,
  IWSLT14_TEST_SETS,
  extractXmlSegments,
  filterTrainTags,
  cleanCorpus,
  unescapeXml,
  readLines,
  splitLines,
} from './text.ts';
export type { ParallelCorpus, Multi30kSplit, Multi30kLang, Iwslt14Options } from './text.ts';
export {
  listImageFolder,
  decodeJpeg,
  readJpeg,
  resizeBox,
  flipHorizontal,
  randomResizedCropBox,
  trainTransform,
  evalTransform,
  loadImageFolderDataset,
  loadImageNet,
  ImageFolderBatcher,
  IMAGENET_MEAN,
  IMAGENET_STD,
} from './imagenet.ts';
export type { RgbImage, ImageFolderEntry, ImageFolderIndex } from './imagenet.ts';
export { download, downloadFile, datasetPresent, formatBytes, sourceUrl, DATASETS, NetworkUnreachableError } from './download.ts';
export type { DatasetSource, RemoteFile, DownloadOptions, DownloadProgress } from './download.ts';
export { downloadBar, progressLine } from './download-progress.ts';
export type { DownloadBar, ProgressSink } from './download-progress.ts';
export { datasetHost, ensureDataset, fetchMissing } from './fetch-missing.ts';
export type { FetchMissingOptions, FetchOutcome } from './fetch-missing.ts';
export { JpegDecoderPool } from './jpeg-pool.ts';
export { subsetDataset, stratifiedSplit, channelStats } from './subset.ts';
export { syntheticCifar10Records, writeSyntheticCifar10 } from './synthetic.ts';
export type { SyntheticCifarOptions, SyntheticCifarFiles } from './synthetic.ts';
