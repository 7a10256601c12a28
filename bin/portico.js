#!/usr/bin/env -S node --initial-heap-size=64 --no-concurrent-array-buffer-sweeping
import { main } from '../dist/cli/main.js'

await main(process.argv)
