#!/usr/bin/env bash
# Renders the file-based catalog (catalog/<package>/index.yaml) of the bundle in bundle/ and validates it with opm.
# The bundle's image reference comes from a template, because a bundle directory has none of its own.
# The channel entry skips every older release (SKIP_RANGE, e.g. '<0.2.0'), so a Subscription on any earlier version
# upgrades straight to this one although the catalog holds only the current bundle.
# Usage: hack/render-catalog.sh OPM PACKAGE DEFAULT_CHANNEL BUNDLE_IMAGE_TEMPLATE SKIP_RANGE
set -euo pipefail
cd "$(dirname "$0")/.."
opm=$1 package=$2 channel=$3 image_template=$4 skip_range=$5
OPM_IMAGE=${OPM_IMAGE:-quay.io/operator-framework/opm:v1.73.0}

out="catalog/$package"
mkdir -p "$out"
csv_name=$(sed -n 's/^  name: //p' "bundle/manifests/$package.clusterserviceversion.yaml" | head -n1)
{
  "$opm" init "$package" --default-channel="$channel" --icon=docs/assets/icon.svg --output=yaml
  cat <<YAML
---
schema: olm.channel
package: $package
name: $channel
entries:
- name: $csv_name
  skipRange: '$skip_range'
YAML
  "$opm" render ./bundle --alpha-image-ref-template="$image_template" \
    --migrate-level=bundle-object-to-csv-metadata --output=yaml
} > "$out/index.yaml"
"$opm" validate catalog
# The catalog image serves the catalog with the same opm release that rendered it.
rm -f catalog.Dockerfile
"$opm" generate dockerfile catalog --base-image="$OPM_IMAGE" --builder-image="$OPM_IMAGE"
echo ">> catalog/$package/index.yaml: package $package, channel $channel, bundle $csv_name; opm validate passed"
