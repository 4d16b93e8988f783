#!/usr/bin/env bash
# Regenerates the .eml fixtures in test/fixtures/mail with the real gpg (GnuPG 2.2) and the
# TEST ONLY keys in test/fixtures/keys, imported into a throw-away GNUPGHOME.
#
# Everything is deterministic except what OpenPGP makes random (session keys, ECDH ephemeral
# keys): headers, boundaries and bodies are fixed, and gpg runs on a frozen clock
# (SIGNED_AT) so signature creation times are stable. Ed25519 signatures are deterministic,
# so signed-only fixtures come out byte-identical on every run.
#
# Every file is written with CRLF line ends, as mail arrives over IMAP, and carries an
# X-Fixture-Purpose header saying why it exists. Tests: test/unit/decode, test/unit/pgp.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
keys="$(cd "$here/../fixtures/keys" && pwd)"
out="$here/../fixtures/mail"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

home="$(mktemp -d)"
work="$(mktemp -d)"
cleanup() {
  GNUPGHOME="$home" gpgconf --kill all >/dev/null 2>&1 || true # the agent may not have started
  rm -rf "$home" "$work"
}
trap cleanup EXIT
export GNUPGHOME="$home"
chmod 700 "$home"

# Signature creation time of every fixture (after the keys were made, before the tests' "now").
SIGNED_AT='20261125T090000!'
TEAM=security@psirt.test

GPG=(gpg_frozen --batch --yes --quiet --no-tty --trust-model always --pinentry-mode loopback --passphrase ''
  --faked-system-time "$SIGNED_AT" --no-emit-version --no-comments --personal-digest-preferences SHA256)

# gpg on the frozen clock, without its "running with faked system time" warning on every call.
gpg_frozen() {
  gpg "$@" 2> >(grep -v 'faked system time' >&2)
}

for k in team.pub alice.sec reporter1.sec reporter2.sec reporter3.sec; do
  gpg --batch --quiet --import "$keys/$k.asc" 2>/dev/null
done

# crlf FILE: rewrites LF or CRLF line ends to CRLF in place.
crlf() { perl -pi -e 's/\r?\n/\r\n/' "$1"; }

# encrypt IN OUT [gpg options…]: armored, encrypted to the team key unless -r is given.
encrypt_to() {
  local in="$1" outf="$2"
  shift 2
  "${GPG[@]}" --armor --output "$outf" --encrypt "$@" "$in"
}

# fold76: base64 lines of 76 characters, as MIME wants them.
b64() { base64 -w 76 "$1"; }

# pgp_mime OUTFILE HEADERS_FILE ARMORED_FILE: wraps an armored message as RFC 3156 §4 PGP/MIME.
pgp_mime() {
  local file="$1" headers="$2" armored="$3" b='psirt-fixture-encrypted-boundary'
  {
    cat "$headers"
    printf 'MIME-Version: 1.0\nContent-Type: multipart/encrypted; protocol="application/pgp-encrypted";\n boundary="%s"\n\n' "$b"
    printf 'This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\n--%s\n' "$b"
    printf 'Content-Type: application/pgp-encrypted\nContent-Description: PGP/MIME version identification\n\nVersion: 1\n\n'
    printf -- '--%s\nContent-Type: application/octet-stream; name="encrypted.asc"\n' "$b"
    printf 'Content-Description: OpenPGP encrypted message\nContent-Disposition: inline; filename="encrypted.asc"\n\n'
    cat "$armored"
    printf '\n--%s--\n' "$b"
  } >"$file"
  crlf "$file"
}

# signed_mime OUTFILE HEADERS_FILE PART_FILE SIGNER [DIGEST]: RFC 3156 §5 multipart/signed over
# the exact CRLF bytes of PART_FILE (which must not end in a line break: that CRLF belongs to the
# boundary). DIGEST defaults to SHA256.
signed_mime() {
  local file="$1" headers="$2" part="$3" signer="$4" digest="${5:-SHA256}" b='psirt-fixture-signed-boundary'
  crlf "$part"
  perl -0777 -pi -e 's/\r\n\z//' "$part"
  "${GPG[@]}" --armor --digest-algo "$digest" --local-user "$signer" --output "$work/part.sig" --detach-sign "$part"
  {
    cat "$headers"
    printf 'MIME-Version: 1.0\nContent-Type: multipart/signed; micalg=pgp-%s;\n protocol="application/pgp-signature"; boundary="%s"\n\n' "${digest,,}" "$b"
    printf 'This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\n--%s\n' "$b"
  } >"$file"
  crlf "$file"
  cat "$part" >>"$file"
  {
    printf '\n--%s\nContent-Type: application/pgp-signature; name="signature.asc"\n' "$b"
    printf 'Content-Description: OpenPGP digital signature\nContent-Disposition: attachment; filename="signature.asc"\n\n'
    cat "$work/part.sig"
    printf '\n--%s--\n' "$b"
  } >"$work/tail"
  crlf "$work/tail"
  cat "$work/tail" >>"$file"
}

# headers NAME FROM SUBJECT PURPOSE [extra header lines]: the common top of a reporter's mail.
headers() {
  local name="$1" from="$2" subject="$3" purpose="$4"
  shift 4
  {
    printf 'Return-Path: <%s>\n' "$(sed -E 's/.*<(.*)>.*/\1/' <<<"$from")"
    printf 'Received: from mail.reporter.test (mail.reporter.test [192.0.2.10])\n\tby mx.psirt.test (Postfix) with ESMTPS id 4Fx1; Wed, 25 Nov 2026 09:00:05 +0000 (UTC)\n'
    printf 'From: %s\nTo: Security Team <security@psirt.test>\nSubject: %s\n' "$from" "$subject"
    printf 'Date: Wed, 25 Nov 2026 09:00:00 +0000\nMessage-ID: <%s@reporter.test>\n' "$name"
    printf 'X-Fixture-Purpose: %s\n' "$purpose"
    for extra in "$@"; do printf '%s\n' "$extra"; done
  } >"$work/headers"
}

REPORT_TEXT='Hello security team,

the login form at https://app.psirt.test/login reflects the "next" parameter
without escaping, so a crafted link runs script in the victim'"'"'s session (XSS).

Steps: open https://app.psirt.test/login?next=%22%3E%3Csvg/onload=alert(1)%3E

Regards,
Reporter One'

# ---------------------------------------------------------------------------------------------
# Plain and charset fixtures

headers report-plain 'Reporter One <reporter1@psirt.test>' 'XSS in the login form' \
  'A plain UTF-8 text report with two Authentication-Results headers (top-most is ours).' \
  'Authentication-Results: mx.psirt.test; dkim=pass header.d=reporter.test;' \
  '	spf=pass smtp.mailfrom=reporter.test' \
  'Authentication-Results: relay.reporter.test; dkim=none' \
  'In-Reply-To: <case-1.ack@psirt.test>' \
  'References: <case-1.ack@psirt.test>' \
  'MIME-Version: 1.0' 'Content-Type: text/plain; charset=utf-8' 'Content-Transfer-Encoding: 8bit'
{ cat "$work/headers"; echo; printf '%s\n' "$REPORT_TEXT"; } >"$out/report-plain.eml"
crlf "$out/report-plain.eml"

headers report-html-only 'Reporter One <reporter1@psirt.test>' 'Stored XSS (HTML mail)' \
  'An HTML-only report: the text comes from the HTML.' \
  'MIME-Version: 1.0' 'Content-Type: text/html; charset=utf-8' 'Content-Transfer-Encoding: 8bit'
{
  cat "$work/headers"
  echo
  cat <<'EOF'
<html><body><p>Hello security team,</p>
<p>the <b>comment field</b> stores HTML unescaped:</p>
<ul><li>post a comment with &lt;img src=x onerror=alert(1)&gt;</li><li>open the thread</li></ul>
<p>Regards,<br>Reporter One</p></body></html>
EOF
} >"$out/report-html-only.eml"
crlf "$out/report-html-only.eml"

headers report-latin1 'Reporter One <reporter1@psirt.test>' '=?ISO-8859-1?Q?Schwachstelle_im_Login_f=FCr_B=FCro?=' \
  'ISO-8859-1 subject (RFC 2047 Q) and quoted-printable ISO-8859-1 body.' \
  'MIME-Version: 1.0' 'Content-Type: text/plain; charset=ISO-8859-1' 'Content-Transfer-Encoding: quoted-printable'
{
  cat "$work/headers"
  echo
  printf 'Gr=FC=DFe aus dem B=FCro,\n\ndas Login-Formular im Caf=E9-Portal ist verwundbar.\n'
} >"$out/report-latin1.eml"
crlf "$out/report-latin1.eml"

headers report-windows-1252 'Reporter One <reporter1@psirt.test>' '=?windows-1252?Q?Preis_5=80_=96_Rabatt-Bug?=' \
  'windows-1252 subject and 8-bit body (euro sign, en dash, curly quotes).' \
  'MIME-Version: 1.0' 'Content-Type: text/plain; charset=windows-1252' 'Content-Transfer-Encoding: 8bit'
{
  cat "$work/headers"
  echo
  printf 'The shop sells it for 5\x80 \x96 the \x93discount\x94 check is client-side only.\n'
} >"$out/report-windows-1252.eml"
crlf "$out/report-windows-1252.eml"

# cjk NAME CHARSET SUBJECT BODY PURPOSE: subject as RFC 2047 B in CHARSET, body base64 in CHARSET.
cjk() {
  local name="$1" charset="$2" subject="$3" body="$4" purpose="$5" enc
  enc="$(printf '%s' "$subject" | iconv -f UTF-8 -t "$charset" | base64 -w 0)"
  headers "$name" 'Reporter One <reporter1@psirt.test>' "=?$charset?B?$enc?=" "$purpose" \
    'MIME-Version: 1.0' "Content-Type: text/plain; charset=$charset" 'Content-Transfer-Encoding: base64'
  printf '%s\n' "$body" | iconv -f UTF-8 -t "$charset" >"$work/body"
  { cat "$work/headers"; echo; b64 "$work/body"; } >"$out/$name.eml"
  crlf "$out/$name.eml"
}
cjk report-shift-jis Shift_JIS 'ログイン画面の脆弱性' 'ログインフォームにクロスサイトスクリプティングの脆弱性があります。' \
  'Shift_JIS subject (RFC 2047 B) and base64 Shift_JIS body.'
cjk report-euc-kr EUC-KR '로그인 취약점' '로그인 양식에 크로스 사이트 스크립팅 취약점이 있습니다.' \
  'EUC-KR subject (RFC 2047 B) and base64 EUC-KR body.'

jis_subject="$(printf '%s' '脆弱性の報告' | iconv -f UTF-8 -t ISO-2022-JP | base64 -w 0)"
headers report-iso-2022-jp 'Reporter One <reporter1@psirt.test>' "=?ISO-2022-JP?B?$jis_subject?=" \
  'ISO-2022-JP subject (RFC 2047 B) and 7-bit ISO-2022-JP body, the classic Japanese mail form.' \
  'MIME-Version: 1.0' 'Content-Type: text/plain; charset=ISO-2022-JP' 'Content-Transfer-Encoding: 7bit'
{ cat "$work/headers"; echo; printf '%s\n' 'パスワード再設定に不具合があります。' | iconv -f UTF-8 -t ISO-2022-JP; } >"$out/report-iso-2022-jp.eml"
crlf "$out/report-iso-2022-jp.eml"

headers report-header-edge-cases 'Reporter One <reporter1@psirt.test>' \
  '=?UTF-8?Q?Line=0D=0ABreak=00Nul=09Tab=7F?= and plain' \
  'Control characters (CR, LF, NUL, TAB, DEL) hidden in an encoded subject; one References id; null Return-Path.' \
  'In-Reply-To: <case-7.ack@psirt.test> (our acknowledgment)' \
  'References: <case-7.ack@psirt.test>' \
  'MIME-Version: 1.0' 'Content-Type: text/plain; charset=us-ascii'
sed -i 's/^Return-Path: .*/Return-Path: <>/' "$work/headers"
{ cat "$work/headers"; echo; echo 'Follow-up without a case tag.'; } >"$out/report-header-edge-cases.eml"
crlf "$out/report-header-edge-cases.eml"

# ---------------------------------------------------------------------------------------------
# PGP/MIME encrypted (RFC 3156 §4)

POC_PY='import requests
print(requests.get("https://app.psirt.test/login", params={"next": "\"><svg/onload=alert(1)>"}).status_code)'

inner_mixed() { # FILE TEXT: multipart/mixed with a UTF-8 QP text part and poc.py
  local file="$1" text="$2" b='psirt-fixture-inner-boundary'
  printf '%s\n' "$POC_PY" >"$work/poc.py"
  {
    printf 'Content-Type: multipart/mixed; boundary="%s"\n\n--%s\n' "$b" "$b"
    printf 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n%s\n' "$text"
    printf -- '--%s\nContent-Type: text/x-python; name="poc.py"\nContent-Disposition: attachment; filename="poc.py"\n' "$b"
    printf 'Content-Transfer-Encoding: base64\n\n'
    b64 "$work/poc.py"
    printf -- '--%s--\n' "$b"
  } >"$file"
  crlf "$file"
}

inner_mixed "$work/inner" 'Der L=C3=B6gin ist verwundbar (l=C3=B6gin), see poc.py.'
encrypt_to "$work/inner" "$work/enc.asc" -r "$TEAM"
headers report-pgp-mime 'Reporter One <reporter1@psirt.test>' 'Encrypted report' \
  'PGP/MIME encrypted to the team key, unsigned; inner multipart/mixed with UTF-8 QP text and poc.py.'
pgp_mime "$out/report-pgp-mime.eml" "$work/headers" "$work/enc.asc"

printf 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nSigned and encrypted: the reset token is predictable (s=C3=A9quence).\n' >"$work/inner"
crlf "$work/inner"
encrypt_to "$work/inner" "$work/enc.asc" -r "$TEAM" --sign --local-user reporter1@psirt.test
headers report-pgp-mime-signed 'Reporter One <reporter1@psirt.test>' 'Signed and encrypted report' \
  'PGP/MIME signed and encrypted in one OpenPGP message by reporter1 (RFC 3156 §6.2).'
pgp_mime "$out/report-pgp-mime-signed.eml" "$work/headers" "$work/enc.asc"

printf 'Content-Type: text/plain; charset=us-ascii\n\nRSA reporter: the admin API accepts expired tokens.\n' >"$work/inner"
crlf "$work/inner"
encrypt_to "$work/inner" "$work/enc.asc" -r "$TEAM" --sign --local-user reporter3@psirt.test
headers report-pgp-mime-rsa 'Reporter Three <reporter3@psirt.test>' 'RSA-signed encrypted report' \
  'PGP/MIME signed by an RSA-3072 reporter key and encrypted to the team key.'
pgp_mime "$out/report-pgp-mime-rsa.eml" "$work/headers" "$work/enc.asc"

# RFC 3156 §6.1: a complete multipart/signed entity, then encrypted.
printf 'Content-Type: text/plain; charset=us-ascii\n\nSigned first with multipart/signed, then encrypted.' >"$work/signed-part"
: >"$work/no-headers"
signed_mime "$work/inner" "$work/no-headers" "$work/signed-part" reporter1@psirt.test
# the entity must start with its own Content-Type, not with MIME-Version
perl -0pi -e 's/\AMIME-Version: 1.0\r\n//' "$work/inner"
encrypt_to "$work/inner" "$work/enc.asc" -r "$TEAM"
headers report-pgp-mime-inner-signed 'Reporter One <reporter1@psirt.test>' 'Encrypted, inner multipart/signed' \
  'PGP/MIME encrypted; the plaintext is a multipart/signed entity by reporter1 (RFC 3156 §6.1).'
pgp_mime "$out/report-pgp-mime-inner-signed.eml" "$work/headers" "$work/enc.asc"

printf 'the database password is hunter2\n' >"$work/secret.txt"
"${GPG[@]}" --output "$work/secret.txt.gpg" --set-filename secret.txt --encrypt -r "$TEAM" "$work/secret.txt"
b='psirt-fixture-nested-boundary'
{
  printf 'Content-Type: multipart/mixed; boundary="%s"\n\n--%s\nContent-Type: text/plain; charset=us-ascii\n\n' "$b" "$b"
  printf 'The credentials are in the encrypted attachment.\n--%s\n' "$b"
  printf 'Content-Type: application/octet-stream; name="secret.txt.gpg"\nContent-Disposition: attachment; filename="secret.txt.gpg"\n'
  printf 'Content-Transfer-Encoding: base64\n\n'
  b64 "$work/secret.txt.gpg"
  printf -- '--%s--\n' "$b"
} >"$work/inner"
crlf "$work/inner"
encrypt_to "$work/inner" "$work/enc.asc" -r "$TEAM"
headers report-pgp-mime-nested-attachment 'Reporter One <reporter1@psirt.test>' 'Encrypted report with an encrypted attachment' \
  'PGP/MIME encrypted; inside, multipart/mixed with an attachment that is itself encrypted (secret.txt.gpg).'
pgp_mime "$out/report-pgp-mime-nested-attachment.eml" "$work/headers" "$work/enc.asc"

b='psirt-fixture-keyinside-boundary'
{
  printf 'Content-Type: multipart/mixed; boundary="%s"\n\n--%s\nContent-Type: text/plain; charset=us-ascii\n\n' "$b" "$b"
  printf 'My key is attached inside the encrypted part; please answer encrypted.\n--%s\n' "$b"
  printf 'Content-Type: application/pgp-keys; name="reporter2.asc"\nContent-Disposition: attachment; filename="reporter2.asc"\n\n'
  gpg --armor --export-options export-minimal --export reporter2@psirt.test
  printf -- '--%s--\n' "$b"
} >"$work/inner"
crlf "$work/inner"
encrypt_to "$work/inner" "$work/enc.asc" -r "$TEAM" --sign --local-user reporter2@psirt.test
headers report-key-in-encrypted-part 'Reporter Two <reporter2@psirt.test>' 'Encrypted report, key inside' \
  'PGP/MIME signed+encrypted by reporter2, whose public key is attached only inside the encrypted part.'
pgp_mime "$out/report-key-in-encrypted-part.eml" "$work/headers" "$work/enc.asc"

printf 'Content-Type: text/plain; charset=us-ascii\n\nOnly alice can read this.\n' >"$work/inner"
crlf "$work/inner"
encrypt_to "$work/inner" "$work/enc.asc" -r alice@psirt.test
headers report-wrong-key 'Reporter One <reporter1@psirt.test>' 'Encrypted to the wrong key' \
  'PGP/MIME encrypted only to alice (a staff key), not to the team key.'
pgp_mime "$out/report-wrong-key.eml" "$work/headers" "$work/enc.asc"

printf 'Content-Type: text/plain; charset=us-ascii\n\nThis ciphertext is damaged in transit.\n' >"$work/inner"
crlf "$work/inner"
encrypt_to "$work/inner" "$work/enc.asc" -r "$TEAM"
# Damage the encrypted data packet: flip one base64 character on the last full line of the body
# (after the session key packet, so the recipient key id still matches).
perl -0777 -pi -e '
  my @l = split /(?<=\n)/; my ($end) = grep { $l[$_] =~ /^-----END/ } 0..$#l; my $i = $end - 3;
  $l[$i] =~ s/^(.{10})(.)/$1 . ($2 eq "A" ? "B" : "A")/e; $_ = join "", @l;' "$work/enc.asc"
headers report-corrupt-ciphertext 'Reporter One <reporter1@psirt.test>' 'Damaged encrypted report' \
  'PGP/MIME to the team key with one base64 character of the encrypted data changed.'
pgp_mime "$out/report-corrupt-ciphertext.eml" "$work/headers" "$work/enc.asc"

# ---------------------------------------------------------------------------------------------
# Inline PGP

printf 'The session cookie lacks HttpOnly; details: token=abc123.\n' >"$work/inline.txt"
encrypt_to "$work/inline.txt" "$work/enc.asc" -r "$TEAM" --sign --local-user reporter1@psirt.test
headers report-inline-pgp 'Reporter One <reporter1@psirt.test>' 'Inline encrypted report' \
  'Inline PGP: the text/plain body is one armored message, signed by reporter1 and encrypted to the team.' \
  'MIME-Version: 1.0' 'Content-Type: text/plain; charset=us-ascii'
{ cat "$work/headers"; echo; cat "$work/enc.asc"; } >"$out/report-inline-pgp.eml"
crlf "$out/report-inline-pgp.eml"

printf 'I can confirm the open redirect on /logout?to=.\n- Reporter One\n' >"$work/clear.txt"
"${GPG[@]}" --local-user reporter1@psirt.test --digest-algo SHA256 --output "$work/clear.asc" --clearsign "$work/clear.txt"
headers report-clearsigned 'Reporter One <reporter1@psirt.test>' 'Clear-signed report' \
  'Inline clear-signed text (-----BEGIN PGP SIGNED MESSAGE-----) by reporter1, including a dash-escaped line.' \
  'MIME-Version: 1.0' 'Content-Type: text/plain; charset=us-ascii'
{ cat "$work/headers"; echo; cat "$work/clear.asc"; } >"$out/report-clearsigned.eml"
crlf "$out/report-clearsigned.eml"

# ---------------------------------------------------------------------------------------------
# multipart/signed (RFC 3156 §5)

printf 'Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nThe export endpoint leaks other tenants=E2=80=99 invoices.\nProof: GET /api/export?tenant=3D2\n' >"$work/signed-part"
headers report-signed-pgp-mime 'Reporter One <reporter1@psirt.test>' 'Signed report' \
  'PGP/MIME multipart/signed (not encrypted) by reporter1 over a QP text part.'
signed_mime "$out/report-signed-pgp-mime.eml" "$work/headers" "$work/signed-part" reporter1@psirt.test

# One body byte of the signed part changed after signing ("tenant=3D2" -> "tenant=3D3").
perl -pe 's/X-Fixture-Purpose: [^\r\n]*/X-Fixture-Purpose: report-signed-pgp-mime.eml with one byte of the signed body changed after signing./; s/tenant=3D2/tenant=3D3/; s/<report-signed-pgp-mime\@/<report-tampered-signed\@/' \
  "$out/report-signed-pgp-mime.eml" >"$out/report-tampered-signed.eml"

# The signature packet itself damaged: its version byte 4 -> 5 ("iIsE" -> "iIsF" in the armor), so
# openpgp reads a packet without an issuer key ID (#10: it used to be filed as corrupt mail).
perl -pe 's/X-Fixture-Purpose: [^\r\n]*/X-Fixture-Purpose: report-signed-pgp-mime.eml with the version byte of its signature packet damaged (#10)./; s/^iIsE/iIsF/; s/<report-signed-pgp-mime\@/<report-damaged-signature\@/' \
  "$out/report-signed-pgp-mime.eml" >"$out/report-damaged-signature.eml"

printf 'Content-Type: text/plain; charset=us-ascii\n\nSigned with SHA-1 by an old client.' >"$work/signed-part"
headers report-signed-sha1 'Reporter Three <reporter3@psirt.test>' 'Signed with SHA-1' \
  'multipart/signed by reporter3 (RSA) with a SHA-1 digest, which openpgp rejects for message signatures.'
signed_mime "$out/report-signed-sha1.eml" "$work/headers" "$work/signed-part" reporter3@psirt.test SHA1

b='psirt-fixture-keyattached-boundary'
{
  printf 'Content-Type: multipart/mixed; boundary="%s"\n\n--%s\nContent-Type: text/plain; charset=us-ascii\n\n' "$b" "$b"
  printf 'Please reply encrypted to the attached key.\n--%s\n' "$b"
  printf 'Content-Type: application/pgp-keys; name="OpenPGP_0x00E38203F38D7347.asc"\n'
  printf 'Content-Disposition: attachment; filename="OpenPGP_0x00E38203F38D7347.asc"\nContent-Description: OpenPGP public key\n\n'
  gpg --armor --export-options export-minimal --export reporter2@psirt.test
  printf -- '--%s--' "$b"
} >"$work/signed-part"
headers report-attached-key 'Reporter Two <reporter2@psirt.test>' 'Report with my key attached' \
  'multipart/signed by reporter2 whose public key is attached (application/pgp-keys) inside the signed part.'
signed_mime "$out/report-attached-key.eml" "$work/headers" "$work/signed-part" reporter2@psirt.test

# ---------------------------------------------------------------------------------------------
# Keys in the mail

keydata="$(gpg --export-options export-minimal --export reporter2@psirt.test | base64 -w 0 | fold -w 72 | sed 's/^/ /')"
headers report-autocrypt 'Reporter Two <reporter2@psirt.test>' 'Report with an Autocrypt header' \
  'Autocrypt header (addr matches From) carrying reporter2'"'"'s key.' \
  "Autocrypt: addr=reporter2@psirt.test; prefer-encrypt=mutual; keydata=
$keydata" \
  'MIME-Version: 1.0' 'Content-Type: text/plain; charset=us-ascii'
{ cat "$work/headers"; echo; echo 'Please use my Autocrypt key for replies.'; } >"$out/report-autocrypt.eml"
crlf "$out/report-autocrypt.eml"

b='psirt-fixture-secretkey-boundary'
headers report-secret-key-attached 'Reporter Two <reporter2@psirt.test>' 'Oops, my secret key' \
  'A reporter attached their SECRET key by mistake: it must be dropped, never stored.' \
  'MIME-Version: 1.0' "Content-Type: multipart/mixed; boundary=\"$b\""
{
  cat "$work/headers"
  printf '\n--%s\nContent-Type: text/plain; charset=us-ascii\n\nMy key is attached.\n--%s\n' "$b" "$b"
  printf 'Content-Type: application/pgp-keys; name="reporter2.asc"\nContent-Disposition: attachment; filename="reporter2.asc"\n\n'
  cat "$keys/reporter2.sec.asc"
  printf -- '--%s--\n' "$b"
} >"$out/report-secret-key-attached.eml"
crlf "$out/report-secret-key-attached.eml"

# ---------------------------------------------------------------------------------------------
# Encrypted attachments, forwarded PGP

printf 'print("exploit")\n' >"$work/exploit.py"
"${GPG[@]}" --output "$work/exploit.py.gpg" --set-filename exploit.py --encrypt -r "$TEAM" "$work/exploit.py"
printf 'Notes: the bug needs an authenticated session.\n' >"$work/notes.txt"
"${GPG[@]}" --armor --output "$work/notes.txt.asc" --set-filename notes.txt --encrypt -r "$TEAM" "$work/notes.txt"
b='psirt-fixture-attachments-boundary'
headers report-encrypted-attachment 'Reporter One <reporter1@psirt.test>' 'Report with encrypted attachments' \
  'Clear text body with two attachments encrypted to the team key: binary exploit.py.gpg and armored notes.txt.asc.' \
  'MIME-Version: 1.0' "Content-Type: multipart/mixed; boundary=\"$b\""
{
  cat "$work/headers"
  printf '\n--%s\nContent-Type: text/plain; charset=us-ascii\n\nDetails are in the encrypted attachments.\n--%s\n' "$b" "$b"
  printf 'Content-Type: application/octet-stream; name="exploit.py.gpg"\nContent-Disposition: attachment; filename="exploit.py.gpg"\n'
  printf 'Content-Transfer-Encoding: base64\n\n'
  b64 "$work/exploit.py.gpg"
  printf -- '--%s\nContent-Type: application/pgp-encrypted; name="notes.txt.asc"\n' "$b"
  printf 'Content-Disposition: attachment; filename="notes.txt.asc"\n\n'
  cat "$work/notes.txt.asc"
  printf -- '--%s--\n' "$b"
} >"$out/report-encrypted-attachment.eml"
crlf "$out/report-encrypted-attachment.eml"

printf 'Forwarded secret: do not decrypt me automatically.\n' >"$work/fwd.txt"
encrypt_to "$work/fwd.txt" "$work/fwd.asc" -r "$TEAM"
b='psirt-fixture-forward-boundary'
headers report-forwarded-pgp 'Reporter One <reporter1@psirt.test>' 'Fwd: encrypted mail I received' \
  'A forwarded message/rfc822 whose body is an inline PGP message: kept as an attachment, not decrypted.' \
  'MIME-Version: 1.0' "Content-Type: multipart/mixed; boundary=\"$b\""
{
  cat "$work/headers"
  printf '\n--%s\nContent-Type: text/plain; charset=us-ascii\n\nForwarding a mail I got; it looks related.\n--%s\n' "$b" "$b"
  printf 'Content-Type: message/rfc822\nContent-Disposition: inline\n\n'
  printf 'From: someone@elsewhere.test\nTo: reporter1@psirt.test\nSubject: secret\nMessage-ID: <fwd-1@elsewhere.test>\n'
  printf 'Date: Tue, 24 Nov 2026 08:00:00 +0000\nContent-Type: text/plain; charset=us-ascii\n\n'
  cat "$work/fwd.asc"
  printf -- '--%s--\n' "$b"
} >"$out/report-forwarded-pgp.eml"
crlf "$out/report-forwarded-pgp.eml"

# ---------------------------------------------------------------------------------------------
# Staff command

printf 'Content-Type: text/plain; charset=us-ascii\n\n/assign bob\nbody of the internal note' >"$work/signed-part"
headers staff-command-signed 'Alice <alice@psirt.test>' 'Re: [SEC-2026-0001] XSS in the login form /assign bob' \
  'A staff command mail, multipart/signed by alice (a configured staff key).' \
  'In-Reply-To: <case-1.ack@psirt.test>' 'References: <report-plain@reporter.test> <case-1.ack@psirt.test>'
sed -i 's/^Message-ID: <staff-command-signed@reporter.test>/Message-ID: <staff-command-signed@psirt.test>/; s/^Return-Path: .*/Return-Path: <alice@psirt.test>/' "$work/headers"
signed_mime "$out/staff-command-signed.eml" "$work/headers" "$work/signed-part" alice@psirt.test

# ---------------------------------------------------------------------------------------------
# Automated mail

b='psirt-fixture-dsn-boundary'
cat >"$out/bounce-dsn.eml" <<EOF
Return-Path: <>
Received: by mx.psirt.test (Postfix) id 7Gh2; Wed, 25 Nov 2026 09:05:00 +0000 (UTC)
Date: Wed, 25 Nov 2026 09:05:00 +0000 (UTC)
From: MAILER-DAEMON@mx.psirt.test (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: security@psirt.test
Auto-Submitted: auto-replied
Message-ID: <bounce-dsn@mx.psirt.test>
X-Fixture-Purpose: RFC 3464 DSN (Postfix style) about our acknowledgment <case-1.ack@psirt.test>, with the original as message/rfc822.
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="$b"

This is a MIME-encapsulated message.

--$b
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.psirt.test.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<gone@reporter.test>: host mail.reporter.test[192.0.2.10] said: 550 5.1.1
    <gone@reporter.test>: Recipient address rejected: User unknown

--$b
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.psirt.test
X-Postfix-Queue-ID: 4Fx9
Arrival-Date: Wed, 25 Nov 2026 09:04:58 +0000 (UTC)

Final-Recipient: rfc822; gone@reporter.test
Original-Recipient: rfc822;gone@reporter.test
Action: failed
Status: 5.1.1
Remote-MTA: dns; mail.reporter.test
Diagnostic-Code: smtp; 550 5.1.1 <gone@reporter.test>: Recipient address
    rejected: User unknown

--$b
Content-Description: Undelivered Message
Content-Type: message/rfc822

Return-Path: <bounces+case-1@psirt.test>
From: Security Team <security@psirt.test>
To: gone@reporter.test
Subject: [SEC-2026-0001] We received your report
Date: Wed, 25 Nov 2026 09:04:57 +0000
Message-ID: <case-1.ack@psirt.test>
Auto-Submitted: auto-replied
Content-Type: text/plain; charset=us-ascii

Thank you, we received your report as SEC-2026-0001.

--$b--
EOF
crlf "$out/bounce-dsn.eml"

b='psirt-fixture-dsn-headers-boundary'
cat >"$out/bounce-dsn-headers-only.eml" <<EOF
Return-Path: <>
Date: Wed, 25 Nov 2026 13:05:00 +0000
From: Mail Delivery Subsystem <mailer-daemon@relay.reporter.test>
Subject: Delivery Status Notification (Delay)
To: bounces+case-2@psirt.test
Auto-Submitted: auto-generated
Message-ID: <bounce-dsn-headers-only@relay.reporter.test>
X-Fixture-Purpose: RFC 3464 delay DSN that returns only the headers (text/rfc822-headers), Final-Recipient without a space.
MIME-Version: 1.0
Content-Type: multipart/report; report-type="delivery-status"; boundary="$b"

--$b
Content-Type: text/plain; charset=us-ascii

Delivery to slow@reporter.test is delayed; we will keep trying.

--$b
Content-Type: message/delivery-status

Reporting-MTA: dns;relay.reporter.test

Final-Recipient: RFC822;Slow@Reporter.test
Action: delayed
Status: 4.4.7
Will-Retry-Until: Fri, 27 Nov 2026 13:05:00 +0000

--$b
Content-Type: text/rfc822-headers

From: Security Team <security@psirt.test>
To: slow@reporter.test
Subject: [SEC-2026-0002] Status update
Message-ID:
 <case-2.status-1@psirt.test>
Date: Wed, 25 Nov 2026 09:00:00 +0000

--$b--
EOF
crlf "$out/bounce-dsn-headers-only.eml"

cat >"$out/auto-reply-out-of-office.eml" <<'EOF'
Return-Path: <reporter1@psirt.test>
From: Reporter One <reporter1@psirt.test>
To: security@psirt.test
Subject: Automatic reply: [SEC-2026-0001] We received your report
Date: Wed, 25 Nov 2026 09:06:00 +0000
Message-ID: <auto-reply-out-of-office@reporter.test>
In-Reply-To: <case-1.ack@psirt.test>
References: <report-plain@reporter.test> <case-1.ack@psirt.test>
Auto-Submitted: auto-replied
X-Auto-Response-Suppress: All
Precedence: bulk
X-Fixture-Purpose: An out-of-office auto-reply to our acknowledgment (RFC 3834 Auto-Submitted: auto-replied).
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

I am out of the office until 1 December with no access to e-mail.
EOF
crlf "$out/auto-reply-out-of-office.eml"

cat >"$out/list-mail.eml" <<'EOF'
Return-Path: <announce-bounces@lists.example.test>
From: Vendor Announcements <announce@lists.example.test>
To: announce@lists.example.test
Subject: [announce] Product 4.2 released
Date: Wed, 25 Nov 2026 07:00:00 +0000
Message-ID: <list-mail@lists.example.test>
List-Id: Vendor announcements <announce.lists.example.test>
List-Unsubscribe: <mailto:announce-leave@lists.example.test>,
 <https://lists.example.test/unsubscribe>
Precedence: list
X-Fixture-Purpose: Mailing-list traffic (List-Id, List-Unsubscribe, Precedence: list) that must never be acknowledged.
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Version 4.2 is out.
EOF
crlf "$out/list-mail.eml"

ls "$out"
