/* loop_config.h — the agent loop's config from a Ruby Hash, shared by Native::AgentLoop and Native::Runner. */
#ifndef ASDK_LOOP_CONFIG_H
#define ASDK_LOOP_CONFIG_H

#include "agent_sdk_ext.h"
#include "loop.h"

/* Fills *c from a config Hash (see Native::AgentLoop.new). Strings point into the Hash's Strings: keep the Hash
 * alive while *c is used. A given price is stored in *price. Raises ArgumentError / TypeError on bad values. */
void asdk_loop_config_from_hash(VALUE config, asdk_loop_config *c, asdk_price *price);

#endif
