// JetStream conditions are recognised by their API and status codes (streams/errors.ts), checked
// against a real server's answers.
import { DiscardPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import test from "ava";
import {
  ApiCodes,
  apiErrorCode,
  isApiError,
  isNoMessage,
  isStatusError,
  isStreamFull,
  isWrongLastSequence,
} from "../streams/index.ts";
import { connectTo, startServer } from "./support/server.ts";

test("full streams, wrong last sequences and missing messages are told apart by code", async (t) => {
  const server = await startServer(t);
  const nc = await connectTo(t, server.url);
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await jsm.streams.add({
    name: "ERRS",
    subjects: ["errs.>"],
    max_msgs: 1,
    discard: DiscardPolicy.New,
    allow_direct: true,
  });
  const data = new TextEncoder().encode("x");

  const first = await js.publish("errs.a", data);
  const wrong = await t.throwsAsync(js.publish("errs.a", data, { expect: { lastSubjectSequence: 7 } }));
  t.true(isWrongLastSequence(wrong), `${apiErrorCode(wrong)}: ${wrong?.message}`);
  t.false(isStreamFull(wrong));

  const full = await t.throwsAsync(js.publish("errs.b", data));
  t.true(isStreamFull(full), `${apiErrorCode(full)}: ${full?.message}`);
  t.false(isWrongLastSequence(full));
  t.false(isNoMessage(full));

  await jsm.streams.deleteMessage("ERRS", first.seq);
  const deleted = await t.throwsAsync(jsm.streams.deleteMessage("ERRS", first.seq));
  t.true(isNoMessage(deleted), `${apiErrorCode(deleted)}: ${deleted?.message}`);
  const beyond = await t.throwsAsync(jsm.streams.deleteMessage("ERRS", 99));
  t.true(isNoMessage(beyond), `${apiErrorCode(beyond)}: ${beyond?.message}`);

  const iter = await jsm.direct.getBatch("ERRS", { seq: 1, next_by_subj: "errs.none", batch: 4 });
  const empty = await t.throwsAsync(async () => {
    for await (const _ of iter);
  });
  t.true(isStatusError(empty, 404), `${(empty as { code?: number }).code}: ${empty?.message}`);
  t.true(isNoMessage(empty));

  const noStream = await t.throwsAsync(jsm.streams.info("NOPE"));
  t.true(isApiError(noStream, ApiCodes.StreamNotFound));
  t.false(isNoMessage(noStream));
});

test("errors that are not JetStream's match no condition", (t) => {
  const plain = Object.assign(new Error("no message found: maximum messages exceeded"), { code: 10037 });
  t.is(apiErrorCode(plain), undefined);
  t.false(isNoMessage(plain));
  t.false(isStreamFull(plain));
  t.false(isWrongLastSequence(plain));
  t.false(isStatusError(plain, 10037));
  t.false(isApiError(undefined, ApiCodes.NoMessageFound));
});
