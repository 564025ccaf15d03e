// Semantic validation: the relations between objects that a schema cannot express. Every problem
// is collected (never just the first), each with the path it is about and how to fix it.

// One module per concern under validate/: nodes, interfaces (and the ports and slaves of links),
// networks (their pipes; bridged ones, their bridges and VLAN pools), guests (and their NICs),
// forwards, proxies, sync; the checks' own in checks.ts.

import type { Problem, SpecPath } from '../../input/problem.ts';
import { checkHostNames, validateChecks } from './checks.ts';
import type { ClusterSpec } from './schema.ts';
import { checkForwards } from './validate/forwards.ts';
import { checkGatewayGuests } from './validate/gateway-guests.ts';
import { checkGuests } from './validate/guests.ts';
import { checkInterfaces } from './validate/interfaces.ts';
import { checkClusterMarks } from './validate/marks.ts';
import { checkNetworks } from './validate/networks.ts';
import { checkTags, checkUplinkAndNodes } from './validate/nodes.ts';
import { checkProxies } from './validate/proxies.ts';
import { checkRouters } from './validate/router.ts';
import { checkSync } from './validate/sync.ts';

export function validate(spec: ClusterSpec): Problem[] {
  const problems: Problem[] = [];
  const report = (path: SpecPath, message: string, fix?: string, atKey = false) =>
    problems.push({ path, message, fix, atKey });
  const nodeNames = new Set(Object.keys(spec.nodes));

  const addressOwner = checkUplinkAndNodes(spec, report);
  checkTags(spec, report);
  checkInterfaces(spec, report);
  checkNetworks(spec, nodeNames, addressOwner, report);
  checkGuests(spec, nodeNames, addressOwner, report);
  checkRouters(spec, addressOwner, report);
  checkForwards(spec, nodeNames, report);
  checkProxies(spec, nodeNames, report);
  checkGatewayGuests(spec, report);
  checkSync(spec, report);
  checkClusterMarks(spec, report);
  checkHostNames(spec, report);
  validateChecks(spec, report);
  return problems;
}
