// Signed chat sessions for the example app: a name becomes a claim. A session is an HMAC-SHA256
// token over the username and an expiry, made with Web Crypto, so the same code runs on Node,
// Deno, Bun and Workers. The key comes from the app's `secret` (an environment variable in the
// runtime folders, so that instances behind a load balancer share it), or is random per process.

const UTF8 = new TextEncoder();
/**
 * The cookie that carries a name's session for the demo page (one per name, `hertz_chat_<name in
 * base64url>`, so that two tabs of one browser can chat as two names), and the header for
 * curl-style clients.
 */
export const SESSION_COOKIE = "hertz_chat_";
export const SESSION_HEADER = "X-Chat-Session";
const DAY = 24 * 60 * 60 * 1000;

function base64url(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0)) as Uint8Array<ArrayBuffer>;
  } catch {
    return undefined;
  }
}

function cookieName(username: string): string {
  return SESSION_COOKIE + base64url(UTF8.encode(username));
}

/** Signs and checks session tokens with one HMAC key. */
export class Sessions {
  readonly #key: Promise<CryptoKey>;

  /** `secret`: the shared signing key; a random one when absent or empty. */
  constructor(secret?: string) {
    const raw = secret ? UTF8.encode(secret) : crypto.getRandomValues(new Uint8Array(32));
    this.#key = crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  }

  /** A token for `username`, valid for a day: `<name>.<expiry>.<mac>`, all base64url. */
  async sign(username: string, now = Date.now()): Promise<string> {
    const payload = `${base64url(UTF8.encode(username))}.${now + DAY}`;
    const mac = await crypto.subtle.sign("HMAC", await this.#key, UTF8.encode(payload));
    return `${payload}.${base64url(new Uint8Array(mac))}`;
  }

  /** The username a valid, unexpired token was made for; `undefined` for anything else. */
  async verify(token: string | undefined, now = Date.now()): Promise<string | undefined> {
    if (token === undefined || token.length > 512) return undefined;
    const parts = token.split(".");
    if (parts.length !== 3) return undefined;
    const [name, expiry, mac] = parts as [string, string, string];
    const signature = fromBase64url(mac);
    const nameBytes = fromBase64url(name);
    if (signature === undefined || nameBytes === undefined || !(Number(expiry) > now)) return undefined;
    const ok = await crypto.subtle.verify("HMAC", await this.#key, signature, UTF8.encode(`${name}.${expiry}`));
    return ok ? new TextDecoder().decode(nameBytes) : undefined;
  }

  /** The session token a request carries for `username`: the `X-Chat-Session` header, else that name's cookie. */
  static tokenOf(request: Request, username: string): string | undefined {
    const header = request.headers.get(SESSION_HEADER);
    if (header) return header;
    const wanted = cookieName(username);
    for (const part of (request.headers.get("cookie") ?? "").split(";")) {
      const [name, ...value] = part.trim().split("=");
      if (name === wanted) return value.join("=");
    }
    return undefined;
  }

  /** The `Set-Cookie` value that gives the demo page its session for `username`. */
  static cookie(username: string, token: string, secure: boolean): string {
    return `${cookieName(username)}=${token}; Path=/chat; HttpOnly; SameSite=Strict; Max-Age=86400${secure ? "; Secure" : ""}`;
  }
}
