#!/usr/bin/env bash
# Fills the krew manifest template plugins/mwm.yaml for one release: ${TAG}, ${DOWNLOAD_URL} and
# ${SHA256_<archive>} from mwmctl_checksums.txt (written by hack/release/mwmctl-archives.sh), and fails when any
# placeholder is left or an archive the template names has no checksum. The release workflow and test/krew run
# exactly this, then krew's validate-krew-manifest on the result.
#
# usage: hack/release/krew-manifest.sh TAG DOWNLOAD_URL ARCHIVE_DIR OUT_FILE
#   DOWNLOAD_URL  where the release's assets are downloaded from, without a trailing slash, e.g.
#                 https://github.com/mamrezb/maintenance-window-manager/releases/download/v0.2.0
#   OUT_FILE      must be named mwm.yaml: krew takes the plugin's name from the file name
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ $# -ne 4 ]]; then
  echo "usage: $0 TAG DOWNLOAD_URL ARCHIVE_DIR OUT_FILE   (OUT_FILE named mwm.yaml)" >&2
  exit 2
fi
tag=$1 url=${2%/} dir=$3 out=$4
if [[ $(basename "$out") != mwm.yaml ]]; then
  echo "ERROR: OUT_FILE $out must be named mwm.yaml (krew reads the plugin's name from the file name)" >&2
  exit 2
fi
sums=$dir/mwmctl_checksums.txt
if [[ ! -f $sums ]]; then
  echo "ERROR: $sums not found: run hack/release/mwmctl-archives.sh $tag $dir first" >&2
  exit 1
fi

# sed expressions: the tag, the URL, then one per archive's checksum. | cannot occur in a URL we accept.
if [[ $url == *"|"* ]]; then
  echo "ERROR: DOWNLOAD_URL $url contains '|'" >&2
  exit 2
fi
exprs=(-e "s|\${TAG}|$tag|g" -e "s|\${DOWNLOAD_URL}|$url|g")
while read -r sum file; do
  exprs+=(-e "s|\${SHA256_$file}|$sum|g")
done < "$sums"

mkdir -p "$(dirname "$out")"
sed "${exprs[@]}" plugins/mwm.yaml > "$out"
# shellcheck disable=SC2016 # a literal ${ is what a left placeholder looks like
if left=$(grep -nF '${' "$out"); then
  echo "ERROR: $out still has placeholders (an archive missing from $sums?):" >&2
  echo "$left" >&2
  exit 1
fi
echo ">> krew manifest for $tag written to $out"
