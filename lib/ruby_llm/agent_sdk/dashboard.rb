# frozen_string_literal: true

require "ruby_llm/agent_sdk/dashboard/engine"
