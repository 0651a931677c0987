// NATS accounts, users and TLS for docswarm: what `docswarm auth` writes and how roles use it.
export { AuthDirError, AuthDirMissingError } from "../errors.ts";
export {
  type AuthInitOptions,
  type AuthInitResult,
  addUser,
  initAuthDir,
  listUsers,
  type PermissionsFor,
  revokeUser,
  type UserPermissions,
  type UserRecord,
} from "./auth-dir.ts";
export {
  authDirHasTls,
  authFromDir,
  type DirAuth,
  embeddedAuthConfig,
} from "./role-creds.ts";
export { createCa, issueCertificate, type PemPair } from "./tls.ts";
