#!/usr/bin/env node
import { converterMain } from '../dist/cli/converter.js';
process.exitCode = await converterMain(process.argv.slice(2));
