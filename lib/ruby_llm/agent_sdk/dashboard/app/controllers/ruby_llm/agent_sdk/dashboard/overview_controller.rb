# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    module Dashboard
      # GET / — seed 002's three metrics (p95 turns per run, p95 cost per run, tool error rate) with p50s, cost per
      # day and model (SVG), tool error rate per tool and failure reasons, over the filters (default: the last
      # config.agent_sdk.dashboard_days days).
      class OverviewController < ApplicationController
        def show
          @filter = Filter.new(filter_params, default_days: AgentSDK.config.dashboard_days)
          metrics = Metrics.new(@filter.apply(session_class.all))
          @percentiles = metrics.percentiles
          @cost_by_day = metrics.cost_by_day
          @tool_errors = metrics.tool_errors
          @tool_error_rate = metrics.tool_error_rate(@tool_errors)
          @failure_reasons = metrics.failure_reasons
          config = AgentSDK.config
          @thresholds = { p95_turns: config.dashboard_p95_turns, p95_cost_usd: config.dashboard_p95_cost_usd,
                          tool_error_rate: config.dashboard_tool_error_rate }
        end
      end
    end
  end
end
