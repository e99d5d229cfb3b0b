// Token.io in the simulator: `GET /tokenio/token-requests/{id}/result`, Bearer or Basic
// credentials, Token.io's error bodies (with `tokenTraceId`) and how a token request's flow reads.

import { randomBytes } from 'node:crypto';
import { ALNUM, BASE58, parseAuthorization, randomString, refused, statusMessage, traceId } from './common.mjs';
import { serveFlowStatus } from './flows.mjs';

const BEARER = 'sim-tokenio-token';
const BASIC = 'c2ltOnRva2VuaW8='; // base64("sim:tokenio")

const CODES = {
  403: 'PermissionDenied',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  409: 'ALREADY_EXISTS',
  429: 'RESOURCE_EXHAUSTED',
  500: 'InternalServerError',
  501: 'UNIMPLEMENTED',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

const REASON_REJECTED = 'Consent rejected by the user';
const REASON_FAILED = 'Payment rejected by the bank';

/** The Token.io provider of the simulator (the interface every provider file exports). */
export const tokenio = {
  name: 'tokenio',
  methods: ['GET'],
  notFoundMessage: 'Token request not found',
  pendingStatus: 'PENDING',
  outcomeTails: {
    succeeded: ['PROCESSED'],
    action_required: ['PROCESSED'],
    failed: ['REJECTED'],
    rejected: ['REJECTED'],
    expired: ['EXPIRED'],
    unknown: ['ON_HOLD'],
    pending: null,
  },

  routeId: (s) => (s.length === 3 && s[0] === 'token-requests' && s[2] === 'result' ? s[1] : null),

  authenticate(ctx) {
    const auth = parseAuthorization(ctx.req.headers);
    if (!auth) return refused('Missing Authorization header');
    if (auth.scheme === 'bearer' && auth.value === BEARER) return { method: 'bearer' };
    if (auth.scheme === 'basic' && auth.value === BASIC) return { method: 'basic' };
    return refused('Unauthorized: invalid credentials');
  },

  errorBody(status, message) {
    const msg = message ?? statusMessage(status);
    if (status === 400 || status === 401) return { error: { message: msg, tokenTraceId: traceId() } };
    return {
      error: {
        errorCode: CODES[status] ?? (status >= 500 ? 'UNKNOWN' : 'INVALID_ARGUMENT'),
        message: msg,
        tokenTraceId: traceId(),
      },
    };
  },

  newId: () => `rq:${randomString(BASE58, 27)}:${randomString(BASE58, 8)}`,

  initFlow(flow) {
    const member = `m:${randomString(BASE58, 28)}:5zKtXEAq`;
    flow.token = `tt:${randomString(BASE58, 44)}:5zKtXEAq`;
    flow.transferId = `t:${randomString(BASE58, 44)}:5zKtXEAq`;
    flow.signature = {
      keyId: `sim-key-${randomString(ALNUM, 8)}`,
      memberId: member,
      signature: randomBytes(64).toString('base64url'),
    };
    flow.reason = flow.outcome === 'rejected' ? REASON_REJECTED : REASON_FAILED;
  },

  render(flow, status) {
    const body = { status };
    if (status === 'PROCESSED') {
      body.tokenId = flow.token;
      body.transferId = flow.transferId;
      body.signature = { ...flow.signature };
      body.bankId = 'ob-modelo';
    } else if (status === 'REJECTED') {
      body.statusReasonInformation = flow.reason;
    }
    return body;
  },

  viewIds: () => ({}),
  viewExtra: () => ({}),

  truncatedSample: () => ({ status: 'PROCESSED', tokenId: 'tt:truncated:5zKtXEAq', bankId: 'ob-modelo' }),
  wrongTypes: () => ({ status: 42, tokenId: false }),

  serve: serveFlowStatus,
};
