# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    module Dashboard
      module ApplicationHelper
        # A metric's value with the class that says whether it drifted past its threshold
        # (config.agent_sdk.dashboard_thresholds): "agent-metric--drift" (and data-drift="true") above it.
        def dashboard_metric(name, value, threshold, formatted)
          drift = !value.nil? && !threshold.nil? && value > threshold
          tag.span(formatted, id: "metric_#{name}", class: ["agent-metric", drift ? "agent-metric--drift" : "agent-metric--ok"],
                              data: { metric: name, value: value, threshold: threshold, drift: drift })
        end

        def dashboard_cost(value)
          value.nil? ? "–" : format("$%.4f", value)
        end

        def dashboard_number(value, digits = 1)
          value.nil? ? "–" : format("%.#{digits}f", value)
        end

        def dashboard_percent(value)
          value.nil? ? "–" : format("%.1f%%", value * 100)
        end

        # The app's partial (config.agent_sdk.message_partial / status_partial, what the broadcasts render) when it
        # has one, else the dashboard's own.
        def dashboard_partial(kind)
          name = AgentSDK.config.public_send(:"#{kind}_partial").to_s
          name.present? && lookup_context.exists?(name, [], true) ? name : "ruby_llm/agent_sdk/dashboard/shared/#{kind}"
        end
      end
    end
  end
end
