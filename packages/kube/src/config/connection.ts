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
  /** Namespace of the context, or of the in-cluster service account; `default` otherwise. */
  readonly namespace: string;
  /** Where this came from, for messages: `kubeconfig /path (context "x")` or `in-cluster`. */
  readonly source: string;
}
