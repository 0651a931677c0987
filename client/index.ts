// The TypeScript client of docswarm's wire contract.
export { DocswarmClient, type SubmitOptions, type Submitted } from "./client.ts";
export { deadLetterOf, listDeadLetters, type Requeued, requeueDeadLetter } from "./dead-letters.ts";
export { CLIENT_ERROR_CODES, ClientError, type ClientErrorCode } from "./errors.ts";
