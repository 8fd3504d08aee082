/** Everything needed to talk to one API server, from a kubeconfig or the in-cluster files. */
export interface KubeConnectionConfig {
  /** API server base URL, e.g. `https://127.0.0.1:6443`. */
  readonly server: string;
  /** PEM CA bundle to verify the server; omit to use Node's default CAs. */
  readonly ca?: string | Buffer;
  /** Skip server certificate verification (kubeconfig `insecure-skip-tls-verify`). */
  readonly insecureSkipTlsVerify?: boolean;
  /** TLS server name override (kubeconfig `tls-server-name`). */
  readonly tlsServerName?: string;
  /** PEM client certificate and key. */
  readonly clientCert?: string | Buffer;
  readonly clientKey?: string | Buffer;
  /** Static bearer token. */
  readonly token?: string;
  /** Bearer token file, re-read when it changes (projected service-account tokens rotate). */
  readonly tokenFile?: string;
  /** HTTP(S) proxy to tunnel every connection through with CONNECT (kubeconfig `proxy-url`). */
  readonly proxyUrl?: string;
  /** Who every request acts as (kubeconfig `as`, `as-uid`, `as-groups`, `as-user-extra`). */
  readonly impersonate?: Impersonation;
  /** Namespace of the context, or of the in-cluster service account; `default` otherwise. */
  readonly namespace: string;
  /** Where this came from, for messages: `kubeconfig /path (context "x")` or `in-cluster`. */
  readonly source: string;
}

/** Impersonation: sent as `Impersonate-*` headers with every request (the identity needs the `impersonate` verb). */
export interface Impersonation {
  readonly user?: string;
  readonly uid?: string;
  readonly groups?: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

/** The `Impersonate-*` headers of `i` (values Node sends as repeated headers). */
export function impersonationHeaders(i: Impersonation | undefined): Record<string, string | string[]> {
  if (!i) return {};
  const headers: Record<string, string | string[]> = {};
  if (i.user) headers['Impersonate-User'] = i.user;
  if (i.uid) headers['Impersonate-Uid'] = i.uid;
  if (i.groups?.length) headers['Impersonate-Group'] = [...i.groups];
  for (const [key, values] of Object.entries(i.extra ?? {})) {
    if (values.length) headers[`Impersonate-Extra-${encodeURIComponent(key)}`] = [...values];
  }
  return headers;
}
