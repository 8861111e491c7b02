# frozen_string_literal: true

require "date"

module RubyLLM
  module AgentSDK
    module Dashboard
      # The dashboard's filters (status, model, transport, user, from / to: UTC dates of created_at) read from the
      # query string, applied to the session model as WHERE clauses the indexes serve, and the keyset page of a runs
      # list: ordered by (created_at, id) descending, the next page starts after the last row shown
      # (`before=<created_at>_<id>`), so a page costs the same at row 50 and at row 99,950 and nothing counts the
      # whole table.
      class Filter
        KEYS = %w[status model transport user from to].freeze

        attr_reader :status, :model, :transport, :user, :from, :to

        # default_days: with no from/to, the last that many days (today included); nil: no date bound.
        def initialize(params, default_days: nil, today: Time.now.utc.to_date)
          params = params.to_h.transform_keys(&:to_s)
          @status = value(params["status"])
          @status = nil unless @status.nil? || ActiveRecord::SessionRecord::STATUSES.include?(@status)
          @model = value(params["model"])
          @transport = value(params["transport"])
          @user = value(params["user"])
          @to = date(params["to"])
          @from = date(params["from"])
          return unless default_days && @from.nil? && @to.nil?

          @to = today
          @from = today - (default_days.to_i - 1)
        end

        def apply(relation, owner_key: Dashboard.owner_key)
          table = relation.arel_table
          relation = relation.where(status: status) if status
          relation = relation.where(model_id: model) if model
          relation = relation.where(transport: transport) if transport
          relation = relation.where(owner_key => user) if user && owner_key
          relation = relation.where(table[:created_at].gteq(midnight(from))) if from
          relation = relation.where(table[:created_at].lt(midnight(to + 1))) if to
          relation
        end

        # The days the range covers (for a plot's x axis), or nil without one (or past a year: the plot then shows
        # the days that have runs).
        def days
          from && to && from <= to && to - from < 366 ? (from..to).to_a : nil
        end

        # The filters as query parameters (links keep them).
        def to_params
          { "status" => status, "model" => model, "transport" => transport, "user" => user,
            "from" => from&.iso8601, "to" => to&.iso8601 }.compact
        end

        # One keyset page: [rows, cursor of the next page or nil].
        def page(relation, per:, before: nil)
          table = relation.arel_table
          rows = relation.reorder(table[:created_at].desc, table[relation.primary_key].desc)
          time, id = decode(before)
          if time
            model = relation.klass
            id = model.type_for_attribute(model.primary_key).cast(id)
            rows = rows.where("(#{model.quoted_table_name}.created_at, #{model.quoted_table_name}.#{model.quoted_primary_key}) " \
                              "< (?, ?)", time, id)
          end
          rows = rows.limit(per + 1).to_a
          more = rows.size > per
          rows = rows.first(per)
          [rows, more ? encode(rows.last) : nil]
        end

        private

        def value(text)
          text = text.to_s.strip
          text.empty? ? nil : text
        end

        def date(text)
          text = value(text)
          text && Date.iso8601(text)
        rescue ArgumentError
          nil
        end

        def midnight(day)
          Time.utc(day.year, day.month, day.day)
        end

        def encode(row)
          "#{row.created_at.utc.iso8601(6)}_#{row.id}"
        end

        def decode(cursor)
          time, id = cursor.to_s.split("_", 2)
          return nil if id.to_s.empty?

          [Time.iso8601(time), id]
        rescue ArgumentError
          nil
        end
      end
    end
  end
end
