// IP-less routed networks (seed 003, F18-F20, F25 on routed taps, F26): the arp and inet tables of
// every node, the names of the routing tables (rt_tables.d), and the router advertisements (F19:
// ra.conf and its unit; ra.py run on each node in the lab). The node's links, routes, rules and
// sysctls for them are compile/routing.ts's and compile/sysctl.ts's: every node's, as its bridges are.
import { FILES } from '../../../../host/files.ts';
import { renderRtTables } from '../../../../host/routing.ts';
import type { Feature } from '../feature.ts';
import { compileRouted } from './compile.ts';
import { raNeeds, startRa } from './ra-lab.ts';
import { raFiles } from './ra-render.ts';

export const routed: Feature = {
  name: 'routed',
  compile: (ctx, node, plan) => compileRouted(ctx, node, plan),
  files: (plan, who) =>
    plan.tables.length === 0
      ? []
      : [
          {
            path: FILES.rtTables,
            chunks: [
              renderRtTables(plan.tables, [
                who,
                "Names of the routed networks' tables, for ip: copy to /etc/iproute2/rt_tables.d/convergent.conf",
                '(network.sh and ifupdown use the numbers, and need it not).',
              ]),
            ],
          },
          ...raFiles(plan, who),
        ],
  startInLab: startRa,
  labNeeds: raNeeds,
};
