#!/usr/bin/env bash
# Install the Debian packages some tests use: Chromium (report checks in a real browser) and R
# (cross-checks against R's kmeans). Needs root; without it, say what to install and go on:
# those tests then skip with a reason.
set -u
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
command -v Rscript >/dev/null 2>&1 || need+=(r-base-core)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: optional system packages missing (${need[*]}); install them with your package" \
       "manager to run the browser and R tests (they are skipped otherwise)." >&2
  exit 0
fi
echo "installing ${need[*]} (apt-get)…" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
  || echo "warning: apt-get install ${need[*]} failed; the tests that need them will skip." >&2
exit 0
