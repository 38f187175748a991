/** `converter_lite`: MindSpore Lite's converter flags, float conversion to .ms. */
import { Command } from 'commander';
import { UserError } from '../ir/graph.js';
import { FMKS, Fmk, loadModel, toMs, parseInputShapes } from '../convert.js';
import { readFileOrFail, writeFileAtomic, runCli } from './io.js';

const HELP_TAIL = `
Converts a float model to a MindSpore Lite .ms file (".ms" is appended to --outputFile).
4-D inputs of NCHW frameworks (ONNX) become NHWC unless --inputDataFormat=NCHW; outputs keep the
source layout. Example:
  converter_lite --fmk=ONNX --modelFile=mnist-8.onnx --outputFile=mnist-8`;

export function converterMain(argv: string[]): Promise<number> {
  return runCli(() => {
    const program = new Command('converter_lite')
      .option('--fmk <fmk>', 'source framework: TFLITE|ONNX|MSLITE (TF, CAFFE, MINDIR not yet)')
      .option('--modelFile <path>', 'input model file')
      .option('--outputFile <path>', 'output path; .ms is appended')
      .option('--inputShape <spec>', 'fix input dims: "name:1,3,224,224;name2:..."')
      .option('--inputDataFormat <fmt>', 'NHWC (default) or NCHW layout for 4-D model inputs')
      .option('--quantType <type>', 'WeightQuant|PostTraining')
      .option('--bitNum <n>', 'quantization bits')
      .option('--quantWeightSize <n>', 'skip weights with at most this many elements')
      .option('--quantWeightChannel <n>', 'skip convolutions with at most this many output channels')
      .option('--configFile <path>', 'quantization config file')
      .addHelpText('after', HELP_TAIL)
      .exitOverride()
      .configureOutput({ writeErr: (s) => process.stderr.write(s) });
    try {
      program.parse(argv, { from: 'user' });
    } catch (e) {
      const code = (e as { exitCode?: number }).exitCode ?? 1;
      return code;
    }
    const o = program.opts();
    if (!o.fmk) throw new UserError('INPUT MISSING: fmk is necessary');
    if (!FMKS.includes(o.fmk)) throw new UserError('INPUT ILLEGAL: fmk must be TF|TFLITE|CAFFE|MINDIR|ONNX');
    if (!o.modelFile) throw new UserError('INPUT MISSING: model file path is necessary');
    if (!o.outputFile) throw new UserError('INPUT MISSING: output file path is necessary');
    if (o.inputDataFormat && o.inputDataFormat !== 'NHWC' && o.inputDataFormat !== 'NCHW')
      throw new UserError('INPUT ILLEGAL: inputDataFormat must be NHWC|NCHW');
    if (o.quantType !== undefined) {
      if (o.quantType !== 'WeightQuant' && o.quantType !== 'PostTraining')
        throw new UserError('INPUT ILLEGAL: quantType must be WeightQuant|PostTraining');
      throw new UserError(`--quantType=${o.quantType} is not available in this build yet (float conversion only)`);
    }
    const bytes = readFileOrFail(o.modelFile, 'model file');
    const g = loadModel(bytes, o.fmk as Fmk, o.modelFile, {
      inputShapes: o.inputShape ? parseInputShapes(o.inputShape) : undefined,
      inputDataFormat: o.inputDataFormat,
    });
    const out = `${o.outputFile}.ms`;
    writeFileAtomic(out, toMs(g));
    process.stdout.write('CONVERT RESULT SUCCESS:0\n');
    return 0;
  });
}
