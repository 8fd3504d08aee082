/** Label and field selectors, and JSON merge patches, as the API server applies them (the forms this project sends). */

/** Whether `labels` match `selector`: `k=v`, `k==v`, `k!=v`, `k` (exists) and `!k`, joined by commas. */
export function matchesLabels(labels: Readonly<Record<string, string>> | undefined, selector: string | undefined): boolean {
  if (!selector) return true;
  const have = labels ?? {};
  return selector.split(',').every((raw) => {
    const term = raw.trim();
    const ne = /^([^!=]+)!=(.*)$/.exec(term);
    if (ne) return have[(ne[1] ?? '').trim()] !== (ne[2] ?? '').trim();
    const eq = /^([^!=]+)==?(.*)$/.exec(term);
    if (eq) return have[(eq[1] ?? '').trim()] === (eq[2] ?? '').trim();
    if (/^![^!=\s]+$/.test(term)) return have[term.slice(1)] === undefined;
    if (/^[^!=\s(),]+$/.test(term)) return have[term] !== undefined;
    throw new Error(`FakeKubeClient: label selector term ${JSON.stringify(term)} is not supported (only =, ==, !=, exists and !exists)`);
  });
}

/** Whether `object` matches a field selector of `path=value` and `path!=value` terms (dotted paths). */
export function matchesFields(object: unknown, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const m = /^([^!=]+)(!=|==|=)(.*)$/.exec(term.trim());
    if (!m) throw new Error(`FakeKubeClient: field selector term ${JSON.stringify(term)} is not supported`);
    let cur: unknown = object;
    for (const part of (m[1] ?? '').split('.')) cur = (cur as Record<string, unknown> | undefined)?.[part];
    const equal = String(cur ?? '') === m[3];
    return m[2] === '!=' ? !equal : equal;
  });
}

/** Applies a JSON merge patch (RFC 7386): objects merge, `null` removes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return structuredClone(patch);
  const out: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}
