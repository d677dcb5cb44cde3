import { builder } from '../builder.js';
import './scalars.js';
import './enums.js';
import './batch-call-settings.js';
import './batch-call.js';
import './conversation-initiation.js';
import './recipient.js';
import './agent.js';
import './recipient-stats.js';
import './summary.js';
import './subscription.js';

builder.queryType({ description: 'Batch calls of the workspace, their recipients and pages.' });

export const schema = builder.toSchema({ sortSchema: false });
