// Every stream, bucket and object store of the topology against its limits (stream info), and the
// JetStream account's use against its own: what `docswarm status`, the dashboard and the leader's
// storage watch read, and what `npm run soak` samples over time.
import type { JetStreamManager, StreamInfo } from "@nats-io/jetstream";
import {
  type AccountStorage,
  type StatusWarning,
  type StorageStatus,
  type StorageUse,
  TopologyConfig,
} from "../schemas/index.ts";
import { META, resourceSpecs } from "../streams/index.ts";

/** The warning share `docswarm init` recorded (storageWarnRatio), else the default. */
function warnRatioOf(submit: StreamInfo | undefined): number {
  try {
    const recorded = submit?.config.metadata?.[META.settings];
    return TopologyConfig.parse(recorded ? JSON.parse(recorded) : {}).storageWarnRatio;
  } catch {
    return TopologyConfig.parse({}).storageWarnRatio;
  }
}

/** The share of its tightest limit a stream uses, and which limit that is. */
export function usedShare(
  info: Pick<StreamInfo, "state" | "config">,
): Pick<StorageUse, "used" | "limitedBy"> {
  const byBytes = info.config.max_bytes > 0 ? info.state.bytes / info.config.max_bytes : 0;
  const byMsgs = info.config.max_msgs > 0 ? info.state.messages / info.config.max_msgs : 0;
  if (info.config.max_bytes <= 0 && info.config.max_msgs <= 0) return { used: 0, limitedBy: "none" };
  return byMsgs > byBytes ? { used: byMsgs, limitedBy: "messages" } : { used: byBytes, limitedBy: "bytes" };
}

/** Use against limits of every stream, bucket and object store, and of the account. */
export async function readStorage(
  jsm: JetStreamManager,
  options: { warnRatio?: number } = {},
): Promise<StorageStatus> {
  // Names, kinds and reasons do not depend on the settings in force.
  const specs = resourceSpecs(TopologyConfig.parse({}), 1024 * 1024);
  const [infos, account] = await Promise.all([
    Promise.all(specs.map((s) => jsm.streams.info(s.stream).catch(() => undefined))),
    jsm.getAccountInfo().catch(() => undefined),
  ]);
  const items = specs.map((s, i): StorageUse => {
    const info = infos[i];
    const base = { name: s.name, kind: s.kind, stream: s.stream, holds: s.holds, atLimit: s.atLimit };
    if (!info)
      return {
        ...base,
        exists: false,
        bytes: 0,
        maxBytes: -1,
        messages: 0,
        maxMsgs: -1,
        maxAgeMs: 0,
        maxMsgSize: -1,
        replicas: 0,
        used: 0,
        limitedBy: "none",
      };
    return {
      ...base,
      exists: true,
      bytes: info.state.bytes,
      maxBytes: info.config.max_bytes,
      messages: info.state.messages,
      maxMsgs: info.config.max_msgs,
      maxAgeMs: Math.round(info.config.max_age / 1_000_000),
      maxMsgSize: info.config.max_msg_size ?? -1,
      replicas: info.config.num_replicas,
      ...usedShare(info),
    };
  });
  const accountStorage: AccountStorage | null = account
    ? {
        fileBytes: account.storage,
        memoryBytes: account.memory,
        maxFileBytes: account.limits.max_storage,
        maxMemoryBytes: account.limits.max_memory,
        streams: account.streams,
        consumers: account.consumers,
      }
    : null;
  const submit = infos[specs.findIndex((s) => s.stream === "DOCSWARM_SUBMIT")];
  return { items, account: accountStorage, warnRatio: options.warnRatio ?? warnRatioOf(submit) };
}

/** A warning per resource at or above the warning share of a limit, or missing. */
export function storageWarnings(s: StorageStatus): StatusWarning[] {
  const out: StatusWarning[] = [];
  const missing = s.items.filter((i) => !i.exists);
  if (missing.length > 0)
    out.push({
      code: "TOPOLOGY_MISSING",
      message: `${missing.map((i) => i.name).join(", ")} missing: run \`docswarm init\``,
    });
  for (const i of s.items) {
    if (!i.exists || i.used < s.warnRatio) continue;
    const limit =
      i.limitedBy === "messages"
        ? `${i.messages} of ${i.maxMsgs} messages`
        : `${i.bytes} of ${i.maxBytes} bytes`;
    out.push({
      code: "STORAGE_HIGH",
      resource: i.name,
      message: `${i.name} is at ${Math.round(i.used * 100)} % of its limit (${limit}): ${i.atLimit}`,
    });
  }
  const a = s.account;
  if (a && a.maxFileBytes > 0 && a.fileBytes / a.maxFileBytes >= s.warnRatio)
    out.push({
      code: "STORAGE_HIGH",
      resource: "account",
      message: `the JetStream account uses ${Math.round((a.fileBytes / a.maxFileBytes) * 100)} % of its file storage`,
    });
  return out;
}
