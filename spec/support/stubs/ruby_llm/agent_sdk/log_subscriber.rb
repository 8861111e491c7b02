# frozen_string_literal: true

# TEST-ONLY STAND-IN, on the load path after the gem's lib/ (spec/dummy/config/boot.rb): the Railtie requires
# ruby_llm/agent_sdk/log_subscriber, which has not landed on main yet. Once lib/ has it, lib/'s wins and this file
# can go.
