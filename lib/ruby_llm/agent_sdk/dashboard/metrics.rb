# frozen_string_literal: true

require "bigdecimal"
require "date"

module RubyLLM
  module AgentSDK
    module Dashboard
      # The dashboard's aggregates, computed by the database over a filtered relation of sessions (Filter#apply),
      # each one statement (or a few bounded ones) the indexes serve:
      #
      # - percentiles: p50 / p95 of num_turns and total_cost_usd over the finished runs, percentile_cont's
      #   interpolation on both adapters (PostgreSQL's own; SQLite has none: the two values around the rank, by
      #   ORDER BY … LIMIT 2 OFFSET k);
      # - cost_by_day: SUM(total_cost_usd) and COUNT(*) grouped by UTC day and model;
      # - tool_errors: per tool, its calls (the assistant rows' tool_calls) and its error results (the tool names a
      #   user row's metadata "tool_errors" lists: the Recorder writes them for tool_result blocks with is_error);
      # - failure_reasons: the failed runs grouped by failure_reason (a result subtype or an exception class).
      class Metrics
        PERCENTILES = { p50: 0.5, p95: 0.95 }.freeze
        COLUMNS = { turns: "num_turns", cost: "total_cost_usd" }.freeze

        def initialize(sessions, messages: Dashboard.message_class)
          @sessions = sessions
          @messages = messages
        end

        # { runs: n, turns: { p50:, p95: }, cost: { p50:, p95: } } over the finished runs (nil values when none).
        def percentiles
          finished = @sessions.where(status: ActiveRecord::SessionRecord::FINISHED)
          postgresql? ? percentiles_postgresql(finished) : percentiles_by_rank(finished)
        end

        # [{ day: Date, model: String, cost: Float, runs: Integer }] in day, then model order.
        def cost_by_day
          day = Arel.sql(postgresql? ? "CAST(#{column('created_at')} AS date)" : "date(#{column('created_at')})")
          rows = @sessions.unscope(:order).group(day, column("model_id")).order(day, column("model_id"))
                          .pluck(Arel.sql("#{day} AS dashboard_day"), column("model_id"), # (the alias: not cast as created_at)
                                 Arel.sql("SUM(#{column('total_cost_usd')})"), Arel.sql("COUNT(*)"))
          rows.map do |d, model, cost, runs|
            { day: d.is_a?(Date) ? d : Date.iso8601(d.to_s), model: model.to_s, cost: cost.to_f, runs: runs.to_i }
          end
        end

        # [{ tool:, calls:, errors:, rate: }] most called first. One statement: the range's assistant and user rows
        # read once (the CTE, through [agent_session_id, message_type] per session or one pass over the table, as
        # the planner costs it), then their tool_calls names and metadata "tool_errors" names counted from it.
        def tool_errors
          pairs = Hash.new { |h, k| h[k] = {} }
          @messages.connection.select_rows(tool_counts_sql, "Dashboard tool errors").each do |kind, name, count|
            pairs[kind][name.to_s] = count.to_i
          end
          calls = pairs["call"]
          errors = pairs["error"]
          (calls.keys | errors.keys).map do |tool|
            n = calls.fetch(tool, 0)
            e = errors.fetch(tool, 0)
            { tool: tool, calls: n, errors: e, rate: n.zero? ? nil : e.fdiv(n) }
          end.sort_by { |row| [-row[:calls], row[:tool]] }
        end

        # The rate over every tool: errors / calls (nil with no calls).
        def tool_error_rate(rows = tool_errors)
          calls = rows.sum { |row| row[:calls] }
          calls.zero? ? nil : rows.sum { |row| row[:errors] }.fdiv(calls)
        end

        # [[failure_reason, count]] most frequent first ("unknown" for a failed run without one).
        def failure_reasons
          reason = column("failure_reason")
          @sessions.unscope(:order).where(status: "failed").group(reason)
                   .order(Arel.sql("COUNT(*) DESC"), reason).pluck(reason, Arel.sql("COUNT(*)"))
                   .map { |name, count| [name.presence || "unknown", count.to_i] }
        end

        private

        def percentiles_postgresql(finished)
          selects = COLUMNS.values.flat_map do |name|
            PERCENTILES.values.map { |p| Arel.sql("percentile_cont(#{p}) WITHIN GROUP (ORDER BY #{column(name)})") }
          end
          runs, *values = finished.unscope(:order).pick(Arel.sql("COUNT(*)"), *selects)
          result = { runs: runs.to_i }
          COLUMNS.each_key.with_index do |key, i|
            result[key] = PERCENTILES.keys.each_with_index.to_h { |p, j| [p, values[i * PERCENTILES.size + j]&.to_f] }
          end
          result
        end

        # percentile_cont(p) without it: the value at rank p·(n−1) of the sorted values, interpolated between the
        # rows at its floor and the one after. One statement: the rows of the range read once, ranked by each column
        # (window functions, SQLite 3.25+), and only the rows at those ranks returned.
        def percentiles_by_rank(finished)
          names = COLUMNS.values
          ranked = names.inject(finished.unscope(:order)) { |scope, name| scope.where.not(name => nil) }
          ranks = PERCENTILES.values.flat_map do |p|
            low = "CAST(#{p} * (n - 1) AS INTEGER)"
            [low, "#{low} + 1"]
          end.join(", ")
          selects = names.each_with_index.map do |name, i|
            "#{column(name)} AS v#{i}, ROW_NUMBER() OVER (ORDER BY #{column(name)}) - 1 AS r#{i}"
          end
          inner = ranked.select(Arel.sql("#{selects.join(', ')}, COUNT(*) OVER () AS n")).to_sql
          where = names.each_index.map { |i| "r#{i} IN (#{ranks})" }.join(" OR ")
          rows = finished.connection.select_rows("SELECT n, #{names.each_index.map { |i| "r#{i}, v#{i}" }.join(', ')} " \
                                                 "FROM (#{inner}) ranked WHERE #{where}", "Dashboard percentiles")
          n = rows.first&.first.to_i
          result = { runs: n }
          COLUMNS.each_key.with_index do |key, i|
            at = rows.to_h { |row| [row[1 + (2 * i)].to_i, row[2 + (2 * i)].to_f] }
            result[key] = PERCENTILES.transform_values do |p|
              next nil if n.zero?

              rank = p * (n - 1)
              low = rank.floor
              at[low] + ((at.fetch(low + 1, at[low]) - at[low]) * (rank - low))
            end
          end
          result
        end

        # ["call" | "error", tool name, count] rows over the messages of the filtered sessions.
        def tool_counts_sql
          ids = @sessions.unscope(:order).select(@sessions.klass.arel_table[@sessions.klass.primary_key]).to_sql
          conn = @messages.connection
          type = conn.quote_column_name("message_type")
          range = "WITH dashboard_messages AS (SELECT #{type}, tool_calls, metadata FROM #{messages_table} " \
                  "WHERE #{type} IN ('assistant', 'user') AND #{conn.quote_column_name(foreign_key)} IN (#{ids}))"
          if postgresql?
            <<~PG
              #{range}
              SELECT 'call', c.value->>'name', COUNT(*) FROM dashboard_messages r
              CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(r.tool_calls::jsonb) = 'array'
                                                           THEN r.tool_calls::jsonb ELSE '[]'::jsonb END) c(value)
              WHERE r.#{type} = 'assistant' GROUP BY 2
              UNION ALL
              SELECT 'error', c.value, COUNT(*) FROM dashboard_messages r
              CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(r.metadata::jsonb -> 'tool_errors') = 'array'
                                                                THEN r.metadata::jsonb -> 'tool_errors' ELSE '[]'::jsonb END) c(value)
              WHERE r.#{type} = 'user' GROUP BY 2
            PG
          else
            <<~SQLITE
              #{range}
              SELECT 'call', json_extract(c.value, '$.name'), COUNT(*) FROM dashboard_messages r, json_each(r.tool_calls) c
              WHERE r.#{type} = 'assistant' AND json_type(r.tool_calls) = 'array' GROUP BY 2
              UNION ALL
              SELECT 'error', c.value, COUNT(*) FROM dashboard_messages r, json_each(r.metadata, '$.tool_errors') c
              WHERE r.#{type} = 'user' AND json_type(r.metadata, '$.tool_errors') = 'array' GROUP BY 2
            SQLITE
          end
        end

        def foreign_key
          @sessions.klass.reflect_on_association(:agent_messages).foreign_key.to_s
        end

        def messages_table
          @messages.quoted_table_name
        end

        def column(name)
          "#{@sessions.klass.quoted_table_name}.#{@sessions.klass.connection.quote_column_name(name)}"
        end

        def postgresql?
          @sessions.klass.connection_db_config.adapter.to_s.match?(/postg/i)
        end
      end
    end
  end
end
