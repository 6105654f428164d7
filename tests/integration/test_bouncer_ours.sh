#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# crowdsec-xdp-bouncer against our own Local API (crowdsec -no-cs) and cscli: the
# end-to-end scenario of tests/lib/bouncer_e2e.sh, plus `cscli bouncers list`
# showing the bouncer's version and last pull.
. "$(dirname "$0")/../lib/harness.sh"
need_root "bouncer e2e vs our LAPI" 61
. "$(dirname "$0")/../lib/bouncer_e2e.sh"
trap e2e_cleanup EXIT INT TERM

. "$(dirname "$0")/../lib/bouncer_ours.sh"
e2e_run
# the LAPI knows who pulled: version from the User-Agent, last pull time
lapi_start
bl=$(cscli_ours bouncers list -o json)
check "cscli bouncers list: our version" bash -c "jq -e '.[] | select(.name == \"xdp-e2e-$ID\") | .version | test(\"v0.1\")' <<<'$bl' >/dev/null"
check "cscli bouncers list: last pull recorded" bash -c "jq -e '.[] | select(.name == \"xdp-e2e-$ID\") | .last_pull | length > 0' <<<'$bl' >/dev/null"
lapi_stop
e2e_guard_run
summary
