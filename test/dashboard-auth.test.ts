// The dashboard's own access: a token on every interface, loopback included (unless noAuth, which
// only loopback allows), accepted in an Authorization header or through a login that sets an
// HttpOnly session cookie, never from a URL; document text only when the dashboard was started to
// show it. Under NATS auth it runs as the observer.
import test from "ava";
import { Dashboard, DashboardAuthError } from "../dashboard/index.ts";
import { authFromDir } from "../infra/index.ts";
import { Swarm } from "../swarm/index.ts";
import { startAuthServer } from "./support/auth.ts";
import { knownDoc } from "./support/pdf.ts";

const TOKEN = "correct-horse-battery-staple";

test("a token is needed on loopback too: header or session cookie, never the URL", async (t) => {
  const s = await startAuthServer(t);
  const swarm = await Swarm.initialize({ natsUrl: s.url, authDir: s.dir, agents: 1 });
  t.teardown(() => swarm.shutdown());
  const doc = await knownDoc("dash-auth", 2);
  await swarm.submit(doc.bytes, { docId: doc.docId });
  await swarm.result(doc.docId, { timeoutMs: 60_000 });

  const d = await Dashboard.start({
    servers: s.url,
    auth: authFromDir(s.dir, "observer"),
    port: 0,
    token: TOKEN,
  });
  t.teardown(() => d.close());
  t.false(d.url.includes(TOKEN), "the URL carries no token");
  const at = (path: string) => new URL(path, d.url);

  // The page itself loads (it is the login form); no data without the token.
  t.is((await fetch(at("/"))).status, 200);
  for (const path of ["/api/snapshot", "/api/events", "/metrics", `/api/documents/${doc.docId}`])
    t.is((await fetch(at(path))).status, 401, path);
  t.is((await fetch(at(`/api/snapshot?token=${TOKEN}`))).status, 401, "a token in the URL is ignored");
  t.is(
    (await fetch(at("/api/snapshot"), { headers: { authorization: "Bearer wrong-token-wrong-token" } }))
      .status,
    401,
  );

  const bearer = { authorization: `Bearer ${TOKEN}` };
  t.is((await fetch(at("/api/snapshot"), { headers: bearer })).status, 200);
  t.is((await fetch(at("/metrics"), { headers: bearer })).status, 200);

  // Login: the token once, in a header; then the cookie is enough (and is HttpOnly, SameSite=Strict).
  t.is(
    (await fetch(at("/login"), { method: "POST", headers: { authorization: "Bearer nope" } })).status,
    401,
  );
  const login = await fetch(at("/login"), { method: "POST", headers: bearer });
  t.is(login.status, 204);
  const cookie = login.headers.get("set-cookie") ?? "";
  t.regex(cookie, /^docswarm_session=[A-Za-z0-9_-]{20,}; HttpOnly; SameSite=Strict; Path=\//);
  const session = { cookie: cookie.split(";")[0]! };
  t.is((await fetch(at("/api/snapshot"), { headers: session })).status, 200);
  const logout = await fetch(at("/logout"), { method: "POST", headers: session });
  t.is(logout.status, 204);
  t.is((await fetch(at("/api/snapshot"), { headers: session })).status, 401, "the session ended");

  // Document text only when the dashboard shows text; this one does not.
  const meta = (await (await fetch(at(`/api/documents/${doc.docId}`), { headers: bearer })).json()) as {
    result: { pages: Array<Record<string, unknown>> };
  };
  t.is(meta.result.pages.length, 2);
  t.false("text" in meta.result.pages[0]!);
  t.is((await fetch(at(`/api/documents/${doc.docId}?text=1`), { headers: bearer })).status, 403);

  const shows = await Dashboard.start({
    servers: s.url,
    auth: authFromDir(s.dir, "observer"),
    port: 0,
    token: TOKEN,
    showText: true,
  });
  t.teardown(() => shows.close());
  const withText = (await (
    await fetch(new URL(`/api/documents/${doc.docId}?text=1`, shows.url), { headers: bearer })
  ).json()) as { result: { pages: Array<{ text: string }> } };
  t.regex(withText.result.pages[0]!.text, new RegExp(`Page 1 of ${doc.docId}`));
  t.deepEqual(await s.violations(), [], "the dashboard reads as the observer without a violation");
});

test("without a token one is generated; noAuth is refused off loopback", async (t) => {
  const s = await startAuthServer(t);
  const auth = authFromDir(s.dir, "observer");
  const d = await Dashboard.start({ servers: s.url, auth, port: 0 });
  t.teardown(() => d.close());
  t.true(d.tokenGenerated);
  t.true((d.token?.length ?? 0) >= 20);
  t.is((await fetch(new URL("/api/snapshot", d.url))).status, 401);
  await t.throwsAsync(Dashboard.start({ servers: s.url, auth, port: 0, host: "0.0.0.0", noAuth: true }), {
    instanceOf: DashboardAuthError,
  });
  const open = await Dashboard.start({ servers: s.url, auth, port: 0, noAuth: true });
  t.teardown(() => open.close());
  t.is((await fetch(new URL("/api/snapshot", open.url))).status, 200);
});
