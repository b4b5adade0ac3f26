# METADATA
# title: Base images must come from a trusted registry
# description: Images pulled from arbitrary registries may be tampered with; build only on approved bases.
# related_resources:
# - https://docs.docker.com/reference/dockerfile/#from
# custom:
#   id: USR-DF-0001
#   avd_id: AVD-USR-DF-0001
#   severity: HIGH
#   recommended_action: Use a base image from a registry listed in data.trusted_registries
#   input:
#     selector:
#     - type: dockerfile
package user.dockerfile.USR_DF_0001

import rego.v1

import data.lib.result

# Registries allowed when no --config-data overrides them.
default_registries := ["registry.example.com/", "docker.io/library/"]

registries := data.trusted_registries if {
	data.trusted_registries
} else := default_registries

stage_aliases contains lower(cmd.Value[2]) if {
	some stage in input.Stages
	some cmd in stage.Commands
	cmd.Cmd == "from"
	count(cmd.Value) == 3
}

trusted(image) if {
	some r in registries
	startswith(image, r)
}

deny contains res if {
	some stage in input.Stages
	some cmd in stage.Commands
	cmd.Cmd == "from"
	image := cmd.Value[0]
	image != "scratch"
	not lower(image) in stage_aliases
	not trusted(image)
	res := result.new(sprintf("Image '%s' is not from a trusted registry", [image]), cmd)
}
