// Events are published through the shared wire helper; re-exported for the coordinator's modules.
export { publishEvent } from "../streams/index.ts";
