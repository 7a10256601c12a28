#!/usr/bin/env -S node --initial-heap-size=64
import { main } from '../dist/cli/main.js'

await main(process.argv)
