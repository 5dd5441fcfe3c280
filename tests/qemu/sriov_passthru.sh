#!/usr/bin/env bash
# Inside the QEMU igb guest (scripts/qemu-sriov): the sriov_passthru profile through site.yml and
# the host_profile role, with a real PF (eth0) whose VFs the igbvf driver names eth1 and eth2, run
# twice: the second run must change nothing. The guest's root file system is read-only, so the
# systemd .link file goes to /run.
set -euo pipefail
export ANSIBLE_NOCOLOR=1 ANSIBLE_STDOUT_CALLBACK=default ANSIBLE_LOCAL_TEMP=/run/tmp ANSIBLE_REMOTE_TEMP=/run/tmp
. scripts/env
ip link set eth0 up
run() {
  ansible-playbook -i localhost, -c local -e ansible_python_interpreter="$VENV/bin/python" \
    -e hostnet_hosts=localhost -e ansible_become=false -e hostnet_profile=sriov_passthru -e profile_pf=eth0 \
    -e '{"profile_vf_netdevs": ["eth1", "eth2"]}' -e host_profile_persist_dir=/run/hvq-network playbooks/site.yml
}
run > /run/tmp/first.log 2>&1 || { tail -60 /run/tmp/first.log; exit 1; }
grep -q 'changed=[1-9]' /run/tmp/first.log || { echo "first run changed nothing"; exit 1; }
run > /run/tmp/second.log 2>&1 || { tail -60 /run/tmp/second.log; exit 1; }
grep -q 'changed=0 ' /run/tmp/second.log || { echo "second run changed something"; tail -40 /run/tmp/second.log; exit 1; }
for vf in eth1 eth2; do
  ip -d link show "pt-$vf" | grep -q 'macvtap mode passthru' || { echo "pt-$vf is not a passthru macvtap"; exit 1; }
done
grep -q '^SR-IOVVirtualFunctions=2$' /run/hvq-network/70-hostnet-vif-sriov-*.link
echo "sriov_passthru: converged, idempotent, pt-eth1 and pt-eth2 in passthru mode on the VFs, .link written"
