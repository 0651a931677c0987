// Large documents as uploads, the way a raw client sends them: chunks on $O.docswarm-docs.C.<id>,
// then an empty submission naming the upload. Split makes those very chunks the document's object
// (metadata only: the bytes are stored once), the doc id defaults to the digest's, and an upload
// whose bytes do not match what the submission promises fails with HEADER_INVALID.
import { createHash } from "node:crypto";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Objm } from "@nats-io/obj";
import { headers } from "@nats-io/transport-node";
import test from "ava";
import { AgentHost } from "../agents/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import { decodeJson, Job } from "../schemas/index.ts";
import { defaultDocId, uploadDocId, uploadDocument } from "../streams/index.ts";
import { assertDone } from "./support/assert.ts";
import { knownDoc } from "./support/pdf.ts";
import { startSwarm, startTopology } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

const maxPayloadBytes = 64 * 1024;

function submitUpload(js: ReturnType<typeof jetstream>, u: { id: string; size: number; digest: string }) {
  const h = headers();
  h.set("Docswarm-Upload", u.id);
  h.set("Docswarm-Upload-Size", String(u.size));
  h.set("Docswarm-Upload-Digest", u.digest);
  return js.publish("docswarm.submit", new Uint8Array(), { headers: h });
}

test("an upload becomes the document's object without a copy; the doc id comes from its digest", async (t) => {
  const { url, nc } = await startTopology(t);
  const coordinator = await Coordinator.start({ servers: url });
  t.teardown(() => coordinator.close());
  // Only split: the document stays split, so its object can be looked at.
  const host = await AgentHost.start({ servers: url, agents: 1, stages: ["split"] });
  t.teardown(() => host.close({ abandonPulls: true }));
  const js = jetstream(nc);
  const doc = await knownDoc("upload-adopt", 12, { charsPerPage: 3300 });
  const upload = await uploadDocument(js, doc.bytes, maxPayloadBytes);
  await submitUpload(js, upload);

  const jsm = await jetstreamManager(nc);
  const docId = defaultDocId(doc.bytes);
  const job = await waitFor(
    async () => {
      const m = await jsm.streams
        .getMessage("KV_docswarm-jobs", { last_by_subj: `$KV.docswarm-jobs.${docId}` })
        .catch(() => null);
      const j = m?.data.length ? decodeJson(Job, m.data) : undefined;
      return j?.ok && j.value.object ? j.value : undefined;
    },
    { message: "the job of the uploaded document, under the digest's doc id" },
  );
  const info = await (await new Objm(js).open("docswarm-docs")).info(job.object!.name);
  t.is(info?.nuid, upload.id, "the object is the upload's chunks");
  t.is(info?.size, doc.bytes.length);
  const stream = await jsm.streams.info("OBJ_docswarm-docs", { subjects_filter: "$O.docswarm-docs.C.>" });
  t.deepEqual(Object.keys(stream.state.subjects ?? {}), [`$O.docswarm-docs.C.${upload.id}`], "stored once");
  const bytes = await (await new Objm(js).open("docswarm-docs")).getBlob(job.object!.name);
  t.true(
    bytes !== null && Buffer.from(bytes).equals(Buffer.from(doc.bytes)),
    "nats.js's own get reads it whole",
  );
});

test("a whole run from an upload; an upload that does not match its digest fails HEADER_INVALID", async (t) => {
  const swarm = await startSwarm(t, { agents: 2, server: { maxPayloadBytes } });
  const doc = await knownDoc("upload-run", 20, { charsPerPage: 3300 });
  const upload = await uploadDocument(swarm.js, doc.bytes, maxPayloadBytes);
  await submitUpload(swarm.js, upload);
  const docId = defaultDocId(doc.bytes);
  assertDone(t, await swarm.client.result(docId, { timeoutMs: 60_000 }), doc, docId);

  // A digest that is not the bytes': the document fails, under the id that digest names.
  const other = await knownDoc("upload-lies", 2);
  const lying = await uploadDocument(swarm.js, other.bytes, maxPayloadBytes);
  const claimed = `SHA-256=${createHash("sha256").update("other bytes").digest("base64url")}=`;
  await submitUpload(swarm.js, { ...lying, digest: claimed });
  const failed = await swarm.client.result(uploadDocId(claimed)!, { timeoutMs: 60_000 });
  t.is(failed.status, "failed");
  t.is(failed.error?.code, "HEADER_INVALID");
});
