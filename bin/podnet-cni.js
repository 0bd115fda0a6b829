#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
// NODE_EXTRA_CA_CERTS makes node read and parse a CA bundle at start-up (~140 ms here); podnet makes no TLS
// connections, so the shebang drops it (as `podnet cni install` does for the installed plugin).
// A CommonJS script, as bin/podnet.js (bin/package.json).
'use strict'
import('../dist/src/cni/main.js').then(({ main }) => main())
