// The TypeScript client of docswarm's wire contract.
export { DocswarmClient, type SubmitOptions, type Submitted } from "./client.ts";
export { ClientError } from "./errors.ts";
