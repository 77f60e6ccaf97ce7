// UI entry of the conformance smoke plugin: a stub. The suite never renders
// plugin UI; the manifest declares slots and a launcher only so that the
// host lists them in GET /api/plugins/ui-contributions. The export names
// match the slots' exportName.
export function DashboardWidget() {
  return null;
}

export function IssuePanel() {
  return null;
}
