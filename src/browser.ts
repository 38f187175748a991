/**
 * The package's browser entry (what bundlers pick through the `browser` export condition): the library API of
 * api.ts, with nothing that imports Node's modules. Calibration samples come from the page (decoded images,
 * .bin files) as a SampleSource or an array of samples.
 */
export * from './api.js';
