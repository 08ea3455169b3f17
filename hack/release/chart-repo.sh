#!/usr/bin/env bash
# Packages the Helm chart for one release and writes the chart repository's index.yaml beside it: every chart
# version of the previous release's index (fetched from PREVIOUS_INDEX_URL, kept with its own URLs) plus this one,
# whose URL is DOWNLOAD_URL/<chart>-<version>.tgz. Chart version = TAG without the "v", appVersion = TAG (the image
# tag). The release workflow and test/chartrepo run exactly this; serving OUT_DIR at DOWNLOAD_URL makes a
# repository for `helm repo add`.
#
# usage: hack/release/chart-repo.sh TAG OUT_DIR DOWNLOAD_URL PREVIOUS_INDEX_URL
#   TAG                 e.g. v0.2.0 or v0.3.0-rc.1
#   OUT_DIR             receives <chart>-<version>.tgz and index.yaml; must hold no other chart archive
#   DOWNLOAD_URL        where this release's assets are downloaded from, e.g.
#                       https://github.com/mamrezb/maintenance-window-manager/releases/download/v0.2.0
#   PREVIOUS_INDEX_URL  the index of the previous final release, by its tag, e.g.
#                       .../releases/download/v0.1.0/index.yaml (release.yml finds it with gh; not latest/download,
#                       which may already be this release); a 404 (a release from before charts were attached)
#                       starts a new index, any other failure stops the script; "-" starts a new index on purpose
#                       (the first release, or a look at the assets offline)
#   HELM (env)          the helm binary (default bin/helm, built by `make helm`)
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ $# -ne 4 ]]; then
  echo "usage: $0 TAG OUT_DIR DOWNLOAD_URL PREVIOUS_INDEX_URL" >&2
  exit 2
fi
tag=$1 out=$2 url=${3%/} previous=$4
helm=${HELM:-bin/helm}
chart=charts/maintenance-window-manager
if [[ ! $tag =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
  echo "ERROR: TAG $tag is not a release tag vMAJOR.MINOR.PATCH[-PRERELEASE]; the chart version is the tag without v" >&2
  exit 2
fi
if [[ ! -x $helm ]]; then
  echo "ERROR: helm not found at $helm: run \`make helm\`, or set HELM to a helm v3 binary" >&2
  exit 1
fi
version=${tag#v}
if [[ $previous != - ]] && ! command -v curl > /dev/null; then
  echo "ERROR: curl not found; it fetches the previous index: apt-get install curl (make release-tools does)" >&2
  exit 1
fi

mkdir -p "$out"
if compgen -G "$out/*.tgz" > /dev/null; then
  echo "ERROR: $out already holds chart archives ($(cd "$out" && echo ./*.tgz)); helm repo index would list them" \
    "under this release's URL: use an empty OUT_DIR" >&2
  exit 1
fi
"$helm" package "$chart" --version "$version" --app-version "$tag" --destination "$out"

merge=$(mktemp)
trap 'rm -f "$merge"' EXIT
if [[ $previous == - ]]; then
  code=none
else
  code=$(curl -sSL --retry 3 -o "$merge" -w '%{http_code}' "$previous") || {
    echo "ERROR: cannot fetch the previous index $previous (curl exit $?): the new index would lose every" \
      "earlier chart version; retry, or pass the right PREVIOUS_INDEX_URL" >&2
    exit 1
  }
fi
case $code in
  none) echo ">> PREVIOUS_INDEX_URL is -: starting a new index with $version alone"
        : > "$merge" ;;
  200) echo ">> merging the previous release's index $previous" ;;
  404) echo ">> no previous index at $previous (404): starting a new index with $version alone"
       : > "$merge" ;;
  *) echo "ERROR: fetching the previous index $previous answered HTTP $code: the new index would lose every" \
       "earlier chart version; retry, or pass the right PREVIOUS_INDEX_URL" >&2
     exit 1 ;;
esac
if [[ -s $merge ]]; then
  "$helm" repo index "$out" --url "$url" --merge "$merge"
else
  "$helm" repo index "$out" --url "$url"
fi
echo ">> $out/index.yaml lists:"
grep -E '^    (version|appVersion): |^    - .*\.tgz$' "$out/index.yaml" | paste - - - | sed 's/^ */   /'
