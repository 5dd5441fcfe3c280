#!/usr/bin/env bash
# The hostnet.vif.host_profile role run the way a user runs it, by ansible-playbook on the inventory
# ansible-test gives: apply.yml makes the namespace lab and applies the profile; apply.yml once more
# must change nothing (its play recap says changed=0); apply.yml in check mode (--check, as a user
# previews a change) with a changed profile; verify.yml reads the kernel back (the profile, untouched
# by check mode), tries a refused profile, and removes the lab in an always: block (apply.yml removes
# it itself when it fails). The namespaces carry the run's id (integration_config.yml, or a random one).
set -euo pipefail
export ANSIBLE_ROLES_PATH=..  # setup_hvit
run="$(sed -n 's/^hvit_run: *"\{0,1\}\([0-9a-f]*\)"\{0,1\} *$/\1/p' ../../integration_config.yml 2>/dev/null || true)"
[ -n "$run" ] || run="$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
play() { ansible-playbook -i "$INVENTORY_PATH" -e "hvit_run=$run" "$@"; }

play apply.yml -e host_profile_first_run=true "$@"
again="$(mktemp)"
trap 'rm -f "$again"' EXIT
rc=0
play apply.yml "$@" | tee "$again" || rc=$?
if [ "$rc" = 0 ] && ! grep -Eq '^testhost +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0' "$again"; then
  echo "host_profile: the second run changed something"
  rc=1
fi
if [ "$rc" = 0 ]; then
  play apply.yml --check "$@" \
    -e '{"host_profile_spec": {"macvlan": [{"name": "pvepa0", "lower": "uplink", "mode": "bridge"}, {"name": "pnew0", "lower": "uplink"}]}}' \
    | tee "$again" || rc=$?
  if [ "$rc" = 0 ] && ! grep -Eq '^testhost +: ok=[0-9]+ +changed=[1-9][0-9]* +unreachable=0 +failed=0' "$again"; then
    echo "host_profile: check mode did not report the change"
    rc=1
  fi
fi
play verify.yml "$@" || rc=$?
exit "$rc"
