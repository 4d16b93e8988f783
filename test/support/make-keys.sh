#!/usr/bin/env bash
# Regenerates the TEST ONLY OpenPGP keys in test/fixtures/keys with the real gpg (GnuPG 2.2).
# Team key: Ed25519/Cv25519, passphrase-protected (tests unlock it). Staff and reporter keys:
# no passphrase. One RSA-3072 reporter key, and one key that expired in the past.
# Fingerprints change on every run: update config/test.toml after regenerating.
set -euo pipefail
out="$(cd "$(dirname "$0")/../fixtures/keys" && pwd)"
home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT
export GNUPGHOME="$home"
TEAM_PASSPHRASE='test-only-team-passphrase'

gen() { # name email algo passphrase expire
  gpg --batch --pinentry-mode loopback --passphrase "$4" \
    --quick-generate-key "$1 (TEST ONLY) <$2>" "$3" sign,cert "$5" >/dev/null 2>&1
  local fpr
  fpr="$(gpg --with-colons --list-keys "$2" | awk -F: '/^fpr:/ { print $10; exit }')"
  local sub=cv25519
  [ "$3" = ed25519 ] || sub="$3"
  gpg --batch --pinentry-mode loopback --passphrase "$4" --quick-add-key "$fpr" "$sub" encr "$5" >/dev/null 2>&1
  echo "$fpr"
}

export_pair() { # name email passphrase fpr
  gpg --armor --export "$2" >"$out/$1.pub.asc"
  gpg --batch --pinentry-mode loopback --passphrase "$3" --armor --export-secret-keys "$2" >"$out/$1.sec.asc"
  echo "$1 $4" >>"$out/FINGERPRINTS"
}

: >"$out/FINGERPRINTS"
fpr=$(gen "psirt team" security@psirt.test ed25519 "$TEAM_PASSPHRASE" 10y)
export_pair team security@psirt.test "$TEAM_PASSPHRASE" "$fpr"
for who in alice bob carol reporter1 reporter2 customer1; do
  fpr=$(gen "$who" "$who@psirt.test" ed25519 '' 10y)
  export_pair "$who" "$who@psirt.test" '' "$fpr"
done
fpr=$(gen "reporter3 rsa" reporter3@psirt.test rsa3072 '' 10y)
export_pair reporter3 reporter3@psirt.test '' "$fpr"
# An already-expired key: created with a fixed past date via faked system time.
gpg --batch --pinentry-mode loopback --passphrase '' --faked-system-time 20200101T000000 \
  --quick-generate-key "expired (TEST ONLY) <expired@psirt.test>" ed25519 sign,cert 1y >/dev/null 2>&1
fpr="$(gpg --with-colons --list-keys expired@psirt.test | awk -F: '/^fpr:/ { print $10; exit }')"
export_pair expired expired@psirt.test '' "$fpr"
echo "team passphrase: $TEAM_PASSPHRASE" >"$out/README"
echo "TEST ONLY keys made by test/support/make-keys.sh; never use them for anything real." >>"$out/README"
cat "$out/FINGERPRINTS"
