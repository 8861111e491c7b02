# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    module Dashboard
      # Cost per day and model as a server-rendered SVG: one stacked bar per day, one <rect> per (day, model) with
      # data-day / data-model / data-cost, a colour per model and a legend. No JavaScript.
      module PlotHelper
        COLOURS = %w[#4e79a7 #f28e2b #e15759 #76b7b2 #59a14f #edc948 #b07aa1 #ff9da7 #9c755f #bab0ac].freeze
        WIDTH = 720
        HEIGHT = 240
        PAD = { left: 56, right: 12, top: 12, bottom: 28 }.freeze

        # rows: Metrics#cost_by_day; days: the x axis (Filter#days, else the days in rows).
        def cost_plot(rows, days = nil)
          days = (days || rows.map { |r| r[:day] }.uniq.sort)
          models = rows.map { |r| r[:model] }.uniq.sort
          colour = models.each_with_index.to_h { |m, i| [m, COLOURS[i % COLOURS.size]] }
          by_day = rows.group_by { |r| r[:day] }
          top = [by_day.values.map { |rs| rs.sum { |r| r[:cost] } }.max.to_f, 0.0001].max
          plot_w = WIDTH - PAD[:left] - PAD[:right]
          plot_h = HEIGHT - PAD[:top] - PAD[:bottom]
          step = days.empty? ? plot_w : plot_w.fdiv(days.size)
          bar = [step * 0.8, 1].max
          parts = [axis(top, plot_h)]
          days.each_with_index do |day, i|
            x = PAD[:left] + (i * step) + ((step - bar) / 2)
            y = PAD[:top] + plot_h
            Array(by_day[day]).sort_by { |r| r[:model] }.each do |r|
              h = r[:cost] / top * plot_h
              y -= h
              parts << tag.rect(x: x.round(2), y: y.round(2), width: bar.round(2), height: h.round(2), fill: colour[r[:model]],
                                class: "agent-plot-bar", data: { day: day.iso8601, model: r[:model], cost: r[:cost], runs: r[:runs] }) do
                tag.title("#{day.iso8601} #{r[:model]}: #{dashboard_cost(r[:cost])} (#{r[:runs]} runs)")
              end
            end
            next unless (i % [(days.size / 8.0).ceil, 1].max).zero?

            parts << tag.text(day.strftime("%m-%d"), x: (x + (bar / 2)).round(2), y: HEIGHT - 8, "text-anchor": "middle",
                                                     class: "agent-plot-label")
          end
          svg = tag.svg(safe_join(parts), id: "agent_cost_plot", viewBox: "0 0 #{WIDTH} #{HEIGHT}", width: WIDTH,
                                          height: HEIGHT, role: "img", "aria-label": "Cost per day and model",
                                          xmlns: "http://www.w3.org/2000/svg")
          legend = tag.ul(class: "agent-plot-legend", id: "agent_cost_legend") do
            safe_join(models.map do |m|
              tag.li(data: { model: m }) { safe_join([tag.span("", class: "agent-swatch", style: "background:#{colour[m]}"), " ", m]) }
            end)
          end
          safe_join([svg, legend])
        end

        private

        def axis(top, plot_h)
          x0 = PAD[:left]
          y0 = PAD[:top] + plot_h
          lines = [tag.line(x1: x0, y1: PAD[:top], x2: x0, y2: y0, class: "agent-plot-axis"),
                   tag.line(x1: x0, y1: y0, x2: WIDTH - PAD[:right], y2: y0, class: "agent-plot-axis")]
          [0, 0.5, 1].each do |f|
            y = (y0 - (f * plot_h)).round(2)
            lines << tag.text(dashboard_cost(top * f), x: x0 - 4, y: y + 4, "text-anchor": "end", class: "agent-plot-label")
          end
          safe_join(lines)
        end
      end
    end
  end
end
