/** MIME types for the file names reporters usually encrypt; everything else is octet-stream. */
const BY_EXTENSION: Readonly<Record<string, string>> = {
  txt: 'text/plain',
  md: 'text/markdown',
  log: 'text/plain',
  csv: 'text/csv',
  html: 'text/html',
  htm: 'text/html',
  xml: 'application/xml',
  json: 'application/json',
  py: 'text/x-python',
  js: 'text/javascript',
  sh: 'application/x-sh',
  c: 'text/x-c',
  h: 'text/x-c',
  diff: 'text/x-diff',
  patch: 'text/x-diff',
  eml: 'message/rfc822',
  pdf: 'application/pdf',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  mp4: 'video/mp4',
  zip: 'application/zip',
  gz: 'application/gzip',
  tgz: 'application/gzip',
  tar: 'application/x-tar',
  '7z': 'application/x-7z-compressed',
  pcap: 'application/vnd.tcpdump.pcap',
};

/** A content type for a decrypted attachment, from its file name. */
export function guessContentType(filename: string | null): string {
  const ext = filename?.toLowerCase().split('.').pop();
  return (
    (ext !== undefined && filename?.includes('.') === true ? BY_EXTENSION[ext] : undefined) ??
    'application/octet-stream'
  );
}
