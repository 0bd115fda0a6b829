#!/usr/bin/env node
import { main } from '../dist/src/cni/main.js'
await main()
