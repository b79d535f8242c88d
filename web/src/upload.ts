// Resumable upload of a recording for a case search (docs/search.md, "Uploads"): the file goes
// in chunks, each appended at the offset the server holds (PUT /api/uploads/{id} with
// Upload-Offset), and is finished with its SHA-256, which the server checks. An upload cut off
// (network, reload, a refused chunk) goes on from where the server stands: the upload's id is
// remembered in this browser against the file's name, size and date, and GET /api/uploads/{id}
// says how much arrived. The hash is computed here, chunk by chunk, as the file is read.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { ApiError, get, post, request } from "./api";
import type { components } from "./api-types";
import { chunkRanges, uploadChunkBytes } from "./logic";

export type Upload = components["schemas"]["Upload"];

export interface UploadProgress {
  name: string;
  sent: number; // bytes the server holds
  total: number;
  phase: "sending" | "checking" | "done";
}

const rememberKey = (file: File) => `glassbox.upload:${file.name}:${file.size}:${file.lastModified}`;

// The upload this browser started for the same file, if the server still has it unfinished.
async function resumable(file: File): Promise<Upload | null> {
  const id = localStorage.getItem(rememberKey(file));
  if (!id) return null;
  try {
    const known = await get<Upload>(`/api/uploads/${id}`);
    if (!known.finished && (known.bytes ?? 0) <= file.size) return known;
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
  }
  localStorage.removeItem(rememberKey(file));
  return null;
}

async function readSlice(file: File, from: number, to: number): Promise<Uint8Array> {
  return new Uint8Array(await file.slice(from, to).arrayBuffer());
}

// Uploads `file` (or goes on with the upload this browser started for it) and returns the
// finished upload. `onProgress` is told after every chunk. A failure throws; calling again
// with the same file resumes.
export async function uploadRecording(file: File, onProgress: (p: UploadProgress) => void, signal?: AbortSignal): Promise<Upload> {
  let upload = await resumable(file);
  if (!upload) {
    upload = await post<Upload>("/api/uploads", { name: file.name });
    localStorage.setItem(rememberKey(file), String(upload.id));
  }
  const id = upload.id!;
  const chunk = uploadChunkBytes(file.size);
  const hash = sha256.create();
  // What the server already holds is hashed from the local file, not sent again.
  let sent = upload.bytes ?? 0;
  for (const [from, to] of chunkRanges(sent, 0, chunk)) hash.update(await readSlice(file, from, to));
  onProgress({ name: file.name, sent, total: file.size, phase: "sending" });
  for (const [from, to] of chunkRanges(file.size, sent, chunk)) {
    signal?.throwIfAborted();
    const bytes = await readSlice(file, from, to);
    hash.update(bytes);
    const after = await request<Upload>("PUT", `/api/uploads/${id}`, new Blob([bytes as BlobPart]), { "Upload-Offset": String(from) });
    sent = after.bytes ?? to;
    onProgress({ name: file.name, sent, total: file.size, phase: "sending" });
  }
  onProgress({ name: file.name, sent, total: file.size, phase: "checking" });
  let finished: Upload;
  try {
    finished = await post<Upload>(`/api/uploads/${id}/finish`, { sha256: bytesToHex(hash.digest()) });
  } catch (e) {
    // The server's copy is not this file (it changed since the first part was sent): the next
    // try starts a new upload instead of resuming a damaged one.
    if (e instanceof ApiError && (e.status === 400 || e.status === 415)) localStorage.removeItem(rememberKey(file));
    throw e;
  }
  localStorage.removeItem(rememberKey(file));
  onProgress({ name: file.name, sent: file.size, total: file.size, phase: "done" });
  return finished;
}
