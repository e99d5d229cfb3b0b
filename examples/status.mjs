#!/usr/bin/env node
// Check, or wait for, a payment token's provisioning status from the command line. This is the
// package's own `token-status` command (js/cli.mjs, built into pkg/cli.mjs), run from the
// repository; in your project it is `npx token-status ...`. See examples/README.md.
//
//   node examples/status.mjs check <truemed|gr4vy|tokenio> <id> [<tokenId>] [options]
//   node examples/status.mjs wait  <truemed|gr4vy|tokenio> <id> [<tokenId>] [options]
//   node examples/status.mjs simulate [--port 8787]
//   node examples/status.mjs --help
import '../pkg/cli.mjs';
