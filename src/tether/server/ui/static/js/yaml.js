// A YAML writer for showing Kubernetes objects (block style, keys in document order).
// Strings that YAML would read as something else are quoted.

const PLAIN = /^[A-Za-z0-9_./@%+-][A-Za-z0-9_ ./@%+=:,()-]*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|~|y|n|[-+]?(\d[\d_]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?|0x[0-9a-fA-F]+|\.inf|\.nan)$/i;

function scalar(value) {
  if (value === null || value === undefined) return "null";
  if (typeof value === "boolean" || typeof value === "number") return String(value);
  const text = String(value);
  if (text === "" || RESERVED.test(text) || !PLAIN.test(text) || text.endsWith(" ") || text.includes(": ") || text.includes(" #")) {
    return JSON.stringify(text);
  }
  return text;
}

function isEmpty(value) {
  return (Array.isArray(value) && value.length === 0) || (value && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 0);
}

function lines(value, indent, out) {
  const pad = "  ".repeat(indent);
  if (Array.isArray(value)) {
    for (const item of value) {
      if (item && typeof item === "object" && !isEmpty(item)) {
        const nested = [];
        lines(item, indent + 1, nested);
        out.push(`${pad}- ${nested[0].trimStart()}`, ...nested.slice(1));
      } else {
        out.push(`${pad}- ${isEmpty(item) ? (Array.isArray(item) ? "[]" : "{}") : scalar(item)}`);
      }
    }
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    const name = scalar(key);
    if (item && typeof item === "object" && !isEmpty(item)) {
      out.push(`${pad}${name}:`);
      lines(item, Array.isArray(item) ? indent : indent + 1, out);
    } else if (typeof item === "string" && item.includes("\n")) {
      out.push(`${pad}${name}: |${item.endsWith("\n") ? "" : "-"}`);
      for (const line of item.replace(/\n$/, "").split("\n")) out.push(line ? `${pad}  ${line}` : "");
    } else {
      out.push(`${pad}${name}: ${isEmpty(item) ? (Array.isArray(item) ? "[]" : "{}") : scalar(item)}`);
    }
  }
}

/** The object as YAML text (empty string for null). */
export function toYaml(value) {
  if (value === null || value === undefined) return "";
  const out = [];
  lines(value, 0, out);
  return `${out.join("\n")}\n`;
}

/** Drop what the cluster adds and nobody declares (managedFields, status), for diffs. */
export function forDiff(obj) {
  if (!obj) return obj;
  const copy = structuredClone(obj);
  if (copy.metadata) {
    for (const key of ["managedFields", "uid", "resourceVersion", "generation", "creationTimestamp"]) delete copy.metadata[key];
    // Written by tether and kubectl themselves, never declared in Git.
    const annotations = copy.metadata.annotations || {};
    for (const key of ["argocd.argoproj.io/tracking-id", "kubectl.kubernetes.io/last-applied-configuration"]) delete annotations[key];
    if (copy.metadata.annotations && Object.keys(annotations).length === 0) delete copy.metadata.annotations;
  }
  delete copy.status;
  return copy;
}

/** The object without metadata.managedFields (noise when reading a live object). */
export function withoutManagedFields(obj) {
  if (!obj || !obj.metadata || !obj.metadata.managedFields) return obj;
  const { managedFields, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}
