/**
 * The package's Node entry (`import { convert, quantizeFull, toMs } from 'webptq'`): the library API of api.ts,
 * plus calibration sets read from directories as converter_lite reads them (raw .bin per input, or images).
 */
export * from './api.js';
export { calibrationSource } from './quant/calib-data.js';
export type { CalibrationSet, ImagePreprocess } from './quant/calib-data.js';
