#!/usr/bin/env node
import { benchmarkMain } from '../dist/cli/benchmark.js';
process.exitCode = await benchmarkMain(process.argv.slice(2));
