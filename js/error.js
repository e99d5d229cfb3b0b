/**
 * Every rejection of token-status, and every constructor throw. `kind` says what to do next;
 * `status`, `code` and `traceId` are what a support ticket needs. Never holds a credential.
 */
export class TokenStatusError extends Error {
  constructor(message, fields) {
    super(message, fields && fields.cause !== undefined ? { cause: fields.cause } : undefined);
    const f = fields || {};
    this.kind = f.kind;
    this.provider = f.provider;
    this.status = f.status ?? null;
    this.code = f.code ?? null;
    this.traceId = f.traceId ?? null;
    this.retryable = f.retryable === true;
    this.external = f.external === true;
    this.attempts = f.attempts ?? 0;
    this.lastStatus = f.lastStatus ?? null;
  }

  toJSON() {
    return {
      name: this.name,
      message: this.message,
      kind: this.kind,
      provider: this.provider,
      status: this.status,
      code: this.code,
      traceId: this.traceId,
      retryable: this.retryable,
      external: this.external,
      attempts: this.attempts,
      lastStatus: this.lastStatus,
    };
  }
}
Object.defineProperty(TokenStatusError.prototype, 'name', {
  value: 'TokenStatusError',
  writable: true,
  configurable: true,
});
