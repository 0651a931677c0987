// The web dashboard: one more NATS client (KV watches, consumer info, the events subject) behind a
// small HTTP server. Live through server-sent events; static assets ship in dashboard/assets (no
// CDN). Binds 127.0.0.1 by default. Every interface, loopback included, needs a token (unless
// noAuth, on loopback only): an Authorization header, or a session cookie from the login page; never
// in a URL. It shows ids, names, counts and error codes; document text only when started with
// showText and a request asks (?text=1).
import { randomBytes, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { readFinal } from "../jobs/index.ts";
import {
  createPrometheusProvider,
  type LogFn,
  type PrometheusProvider,
  registerSwarmGauges,
} from "../observability/index.ts";
import { DocId, decodeJson, Job, type NatsAuth, validate } from "../schemas/index.ts";
import { BUCKETS, closeSteps, connectNats, drainConnection, kvStream, kvSubject } from "../streams/index.ts";
import { DashboardAuthError } from "./errors.ts";
import { DashboardState, describedEvent } from "./state.ts";

export type DashboardOptions = {
  /** NATS servers to connect to, unless `nc` is given. */
  servers?: string | string[];
  /** Credentials and TLS for that connection (the observer role). */
  auth?: NatsAuth;
  nc?: NatsConnection;
  /** Default 7070; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /**
   * What a browser or scraper must present (Authorization: Bearer, or at the login page, which
   * then keeps a session cookie); generated when absent. Never read from a URL.
   */
  token?: string;
  /** No token at all: only on loopback, for a machine of one's own. */
  noAuth?: boolean;
  /** Serve documents' page text (/api/documents/<id>?text=1); off unless asked for. */
  showText?: boolean;
  onLog?: LogFn;
};

const ASSETS: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
  "/favicon.svg": { file: "favicon.svg", type: "image/svg+xml" },
};
const ASSET_DIR = new URL("./assets/", import.meta.url);

const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

const SESSION_MS = 12 * 3_600_000;
const MAX_SESSIONS = 1000;

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\./.test(host);
}

export class Dashboard {
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** The token the page and /metrics ask for, or undefined when none is required (noAuth). */
  readonly token: string | undefined;
  /** Whether the token was generated here (then whoever started the dashboard must be told it). */
  readonly tokenGenerated: boolean;
  readonly showText: boolean;
  readonly #sessions = new Map<string, number>();
  readonly #server: Server;
  readonly #state: DashboardState;
  readonly #nc: NatsConnection;
  readonly #ownsNc: boolean;
  readonly #unregisterGauges: () => void;
  readonly #metrics: PrometheusProvider;
  readonly #clients = new Set<ServerResponse>();
  readonly #ticker: NodeJS.Timeout;
  #closing: Promise<void> | undefined;
  readonly #closed = Promise.withResolvers<void>();

  private constructor(init: {
    server: Server;
    state: DashboardState;
    nc: NatsConnection;
    ownsNc: boolean;
    host: string;
    port: number;
    token: string | undefined;
    tokenGenerated: boolean;
    showText: boolean;
    metrics: PrometheusProvider;
  }) {
    this.#server = init.server;
    this.#state = init.state;
    this.#nc = init.nc;
    this.#ownsNc = init.ownsNc;
    this.host = init.host;
    this.port = init.port;
    this.token = init.token;
    this.tokenGenerated = init.tokenGenerated;
    this.showText = init.showText;
    this.#metrics = init.metrics;
    const shown = init.host === "0.0.0.0" || init.host === "::" ? "127.0.0.1" : init.host;
    const h = shown.includes(":") ? `[${shown}]` : shown;
    this.url = `http://${h}:${init.port}/`;
    this.#unregisterGauges = registerSwarmGauges(() => this.#state.gaugeSnapshot(), {
      meter: this.#metrics.provider.getMeter("docswarm"),
    });
    // Every second each open page gets the whole picture (small: no document text).
    this.#ticker = setInterval(() => this.#broadcast("snapshot", this.#state.snapshot()), 1000);
  }

  static async start(options: DashboardOptions): Promise<Dashboard> {
    const host = options.host ?? "127.0.0.1";
    if (options.noAuth && !isLoopback(host))
      throw new DashboardAuthError(`a dashboard on ${host} needs a token: --no-auth is for loopback only`);
    const tokenGenerated = !options.noAuth && !options.token;
    const token = options.noAuth ? undefined : (options.token ?? randomBytes(18).toString("base64url"));
    const ownsNc = !options.nc;
    const nc =
      options.nc ??
      (await connectNats({ ...options.auth, servers: options.servers ?? [], name: "docswarm-dashboard" }));
    try {
      const metrics = await createPrometheusProvider("docswarm-dashboard");
      const state = await DashboardState.start(nc, { meter: metrics.provider.getMeter("docswarm") });
      let self: Dashboard | undefined;
      const server = createServer((req, res) => {
        if (!self) return void res.writeHead(503).end();
        self.#route(req, res).catch((err: Error) => {
          options.onLog?.("error", "dashboard request failed", { url: req.url, err: err.message });
          if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
          res.end("internal error\n");
        });
      });
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(options.port ?? 7070, host, () => resolve());
      });
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : (options.port ?? 7070);
      self = new Dashboard({
        server,
        state,
        nc,
        ownsNc,
        host,
        port,
        token,
        tokenGenerated,
        showText: options.showText ?? false,
        metrics,
      });
      return self;
    } catch (err) {
      if (ownsNc) await nc.close();
      throw err;
    }
  }

  /** The bearer token matches (constant time), whatever else the request says. */
  #bearerOk(req: IncomingMessage): boolean {
    if (!this.token) return true;
    const auth = req.headers.authorization ?? "";
    const a = Buffer.from(auth.startsWith("Bearer ") ? auth.slice(7) : "");
    const b = Buffer.from(this.token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  #session(req: IncomingMessage): string | undefined {
    const m = /(?:^|;\s*)docswarm_session=([A-Za-z0-9_-]{20,})/.exec(req.headers.cookie ?? "");
    return m?.[1];
  }

  /** A token in the Authorization header, or the session cookie the login set. */
  #authorized(req: IncomingMessage): boolean {
    if (!this.token || this.#bearerOk(req)) return true;
    const id = this.#session(req);
    const until = id ? this.#sessions.get(id) : undefined;
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.#sessions.delete(id!);
    return false;
  }

  // POST /login with the token in the Authorization header: a session cookie for the page (HttpOnly,
  // SameSite=Strict: scripts cannot read it and other sites cannot send it).
  #login(req: IncomingMessage, res: ServerResponse): void {
    if (!this.token || !this.#bearerOk(req))
      return void res.writeHead(401, { "www-authenticate": "Bearer", ...SECURITY_HEADERS }).end();
    const id = randomBytes(32).toString("base64url");
    if (this.#sessions.size >= MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value!);
    this.#sessions.set(id, Date.now() + SESSION_MS);
    res
      .writeHead(204, {
        "set-cookie": `docswarm_session=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_MS / 1000}`,
        ...SECURITY_HEADERS,
      })
      .end();
  }

  #logout(req: IncomingMessage, res: ServerResponse): void {
    const id = this.#session(req);
    if (id) this.#sessions.delete(id);
    res
      .writeHead(204, {
        "set-cookie": "docswarm_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
        ...SECURITY_HEADERS,
      })
      .end();
  }

  // On loopback, refuse other Host names, so a web page elsewhere cannot reach us by DNS rebinding.
  #hostAllowed(req: IncomingMessage): boolean {
    if (!isLoopback(this.host)) return true;
    const name = (req.headers.host ?? "").replace(/:\d+$/, "");
    return isLoopback(name);
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://dashboard");
    if (!this.#hostAllowed(req))
      return void res.writeHead(421, { "content-type": "text/plain" }).end("wrong host\n");
    if (req.method === "POST" && url.pathname === "/login") return this.#login(req, res);
    if (req.method === "POST" && url.pathname === "/logout") return this.#logout(req, res);
    if (req.method !== "GET" && req.method !== "HEAD") return void res.writeHead(405, { allow: "GET" }).end();
    const asset = ASSETS[url.pathname];
    if (asset) {
      const body = await readFile(new URL(asset.file, ASSET_DIR));
      return void res.writeHead(200, { "content-type": asset.type, ...SECURITY_HEADERS }).end(body);
    }
    if (url.pathname === "/healthz")
      return void res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    if (!this.#authorized(req)) {
      return void res
        .writeHead(401, {
          "content-type": "application/json",
          "www-authenticate": "Bearer",
          ...SECURITY_HEADERS,
        })
        .end(JSON.stringify({ error: "this dashboard needs its token" }));
    }
    if (url.pathname === "/metrics") return this.#metrics.handle(req, res);
    if (url.pathname === "/api/snapshot") return this.#json(res, this.#state.snapshot());
    if (url.pathname === "/api/events") return this.#stream(req, res);
    const doc = /^\/api\/documents\/([^/]+)$/.exec(url.pathname);
    if (doc) {
      const wantsText = url.searchParams.get("text") === "1";
      if (wantsText && !this.showText)
        return this.#json(
          res,
          { error: "document text is not served (start the dashboard with --show-text)" },
          403,
        );
      return this.#document(res, decodeURIComponent(doc[1]!), wantsText);
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
  }

  #json(res: ServerResponse, value: unknown, status = 200): void {
    res
      .writeHead(status, { "content-type": "application/json", ...SECURITY_HEADERS })
      .end(JSON.stringify(value));
  }

  #stream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      "content-type": "text/event-stream",
      connection: "keep-alive",
      ...SECURITY_HEADERS,
    });
    res.write(`retry: 2000\nevent: snapshot\ndata: ${JSON.stringify(this.#state.snapshot())}\n\n`);
    this.#clients.add(res);
    const unsubscribe = this.#state.subscribe((_kind, e) =>
      res.write(`event: swarm\ndata: ${JSON.stringify(describedEvent(e))}\n\n`),
    );
    req.on("close", () => {
      unsubscribe();
      this.#clients.delete(res);
    });
  }

  #broadcast(event: string, value: unknown): void {
    if (this.#clients.size === 0) return;
    const frame = `event: ${event}\ndata: ${JSON.stringify(value)}\n\n`;
    for (const res of this.#clients) res.write(frame);
  }

  /** One document: its job and final result; page text only when asked for. */
  async #document(res: ServerResponse, docId: string, withText: boolean): Promise<void> {
    if (!validate(DocId, docId).ok) return this.#json(res, { error: "not a doc id" }, 400);
    const js = jetstream(this.#nc);
    const entry = await js
      .jetstreamManager()
      .then((jsm) =>
        jsm.direct
          .getMessage(kvStream(BUCKETS.jobs), { last_by_subj: kvSubject(BUCKETS.jobs, docId) })
          .catch(() => null),
      );
    const job = entry?.data.length ? decodeJson(Job, entry.data) : undefined;
    const final = await readFinal(js, docId).catch(() => undefined);
    if (!job?.ok && !final) return this.#json(res, { error: `no document ${docId}` }, 404);
    const result = final && {
      ...final,
      pages: withText ? final.pages : final.pages.map(({ text: _text, ...rest }) => rest),
    };
    return this.#json(res, { docId, job: job?.ok ? job.value : null, result, text: withText });
  }

  close(): Promise<void> {
    this.#closing ??= closeSteps(
      () => clearInterval(this.#ticker),
      () => {
        for (const c of this.#clients) c.end();
        this.#clients.clear();
      },
      () => {
        const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
        this.#server.closeAllConnections();
        return closed;
      },
      () => this.#unregisterGauges(),
      () => this.#state.close(),
      () => this.#metrics.provider.shutdown().catch(() => {}),
      () => this.#ownsNc && drainConnection(this.#nc),
    ).finally(() => this.#closed.resolve());
    return this.#closing;
  }

  /** Resolves once close() has run, whatever its outcome. */
  closed(): Promise<void> {
    return this.#closed.promise;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
