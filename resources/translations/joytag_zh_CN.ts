<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>DetailsPanel</name>
    <message>
        <source>Lowest score that counts as a tag (tags with their own threshold keep it)</source>
        <translation>计为标签的最低分数（设有单独阈值的标签保持其阈值）</translation>
    </message>
    <message>
        <source>The rating of the selected images: the models&apos; rating outputs decide unless you set one</source>
        <translation>所选图片的分级：除非您手动设定，否则由模型的分级输出决定</translation>
    </message>
    <message>
        <source>Rating from the models</source>
        <translation>由模型决定分级</translation>
    </message>
    <message>
        <source>Add a tag to the selection…</source>
        <translation>为所选图片添加标签…</translation>
    </message>
    <message>
        <source>Add</source>
        <translation>添加</translation>
    </message>
    <message>
        <source>Remove selected tags</source>
        <translation>移除所选标签</translation>
    </message>
    <message>
        <source>Threshold</source>
        <translation>阈值</translation>
    </message>
    <message>
        <source>Rating</source>
        <translation>分级</translation>
    </message>
    <message>
        <source>No image selected</source>
        <translation>未选择图片</translation>
    </message>
    <message>
        <source>Select an image to see its tags.</source>
        <translation>选择一张图片以查看其标签。</translation>
    </message>
    <message>
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <source>Folder</source>
        <translation>文件夹</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>尺寸</translation>
    </message>
    <message>
        <source>Taken</source>
        <translation>拍摄时间</translation>
    </message>
    <message>
        <source>Camera</source>
        <translation>相机</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Tagged</source>
        <translation>已标注</translation>
    </message>
    <message>
        <source>{when} by {model}</source>
        <translation>{when}，模型 {model}</translation>
    </message>
    <message>
        <source>none (no model with rating outputs has tagged it)</source>
        <translation>无（尚无带分级输出的模型标注过它）</translation>
    </message>
    <message>
        <source>{rating} (set by hand)</source>
        <translation>{rating}（手动设定）</translation>
    </message>
    <message>
        <source>Selection</source>
        <translation>选择</translation>
    </message>
    <message numerus="yes">
        <source>%Ln image(s) (tag edits apply to all)</source>
        <translation>
            <numerusform>%Ln 张图片（标签编辑作用于全部）</numerusform>
        </translation>
    </message>
    <message>
        <source>No preview</source>
        <translation>无预览</translation>
    </message>
</context>
<context>
    <name>DuplicatesDialog</name>
    <message>
        <source>Find duplicates</source>
        <translation>查找重复图片</translation>
    </message>
    <message>
        <source>Exact copies (the same file content)</source>
        <translation>完全相同的副本（文件内容相同）</translation>
    </message>
    <message>
        <source>The same picture re-encoded, resized, mirrored or slightly cropped</source>
        <translation>同一张图片经重新编码、缩放、镜像或轻微裁剪</translation>
    </message>
    <message>
        <source>Images that look alike (by the model&apos;s embeddings)</source>
        <translation>外观相似的图片（依据模型的嵌入向量）</translation>
    </message>
    <message>
        <source>How many of the 64 bits of the perceptual hashes may differ</source>
        <translation>感知哈希的 64 位中允许不同的位数</translation>
    </message>
    <message>
        <source>Most pixels, then the oldest</source>
        <translation>像素最多，其次最早</translation>
    </message>
    <message>
        <source>Largest file</source>
        <translation>文件最大</translation>
    </message>
    <message>
        <source>Oldest</source>
        <translation>最早</translation>
    </message>
    <message>
        <source>Newest</source>
        <translation>最新</translation>
    </message>
    <message>
        <source>Shortest path</source>
        <translation>路径最短</translation>
    </message>
    <message>
        <source>Only among the current search results</source>
        <translation>仅在当前搜索结果中查找</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Choose what counts as a duplicate, then click Find duplicates.</source>
        <translation>选择哪些算作重复，然后点击“查找重复图片”。</translation>
    </message>
    <message>
        <source>Move the ticked copies to the trash…</source>
        <translation>将勾选的副本移到回收站…</translation>
    </message>
    <message>
        <source>the same picture? (judge before ticking)</source>
        <translation>同一张图片？（勾选前请自行判断）</translation>
    </message>
    <message>
        <source>look alike (similarity from {value:.3f}; judge before ticking)</source>
        <translation>外观相似（相似度自 {value:.3f} 起；勾选前请自行判断）</translation>
    </message>
    <message>
        <source>{distance} from the kept file</source>
        <translation>与保留的文件比较：{distance}</translation>
    </message>
    <message>
        <source>{distance} from {name}</source>
        <translation>与 {name} 比较：{distance}</translation>
    </message>
    <message>
        <source>{bits} hash bits (of 64)</source>
        <translation>{bits} 个哈希位（共 64 位）</translation>
    </message>
    <message>
        <source>similarity {value:.3f}</source>
        <translation>相似度 {value:.3f}</translation>
    </message>
    <message>
        <source>the same bytes</source>
        <translation>字节完全相同</translation>
    </message>
    <message numerus="yes">
        <source> (the first %Ln shown)</source>
        <translation>
            <numerusform>（显示前 %Ln 组）</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>{groups}{shown}. %Ln copies ({mb} MB) are ticked for the trash.</source>
        <translation>
            <numerusform>{groups}{shown}。已勾选 %Ln 个副本（{mb} MB）移到回收站。</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln group(s)</source>
        <translation>
            <numerusform>%Ln 组</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Move %Ln copies ({mb} MB) to the system trash? They can be restored from there; the library forgets them. Each is checked again first: one changed since the last scan stays.</source>
        <translation>
            <numerusform>将 %Ln 个副本（{mb} MB）移到系统回收站？可以从回收站恢复；图库将不再记录它们。每个副本都会先再次检查：自上次扫描以来有改动的将保留。</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Moved %Ln copies to the trash.</source>
        <translation>
            <numerusform>已将 %Ln 个副本移到回收站。</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln left in place (first: {path}: {reason}).</source>
        <translation>
            <numerusform>%Ln 个保留在原处（第一个：{path}：{reason}）。</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln could not be moved (first: {path}: {reason}).</source>
        <translation>
            <numerusform>%Ln 个无法移动（第一个：{path}：{reason}）。</numerusform>
        </translation>
    </message>
    <message>
        <source>Only exact copies come ticked: judge the other groups and tick what may go.</source>
        <translation>只有完全相同的副本会被预先勾选：其他组请自行判断，勾选可以移走的文件。</translation>
    </message>
    <message>
        <source>Bits that may differ</source>
        <translation>允许不同的位数</translation>
    </message>
    <message>
        <source>Similarity from</source>
        <translation>相似度不低于</translation>
    </message>
    <message>
        <source>Keep in each group:</source>
        <translation>每组保留：</translation>
    </message>
    <message>
        <source>Tick at least one kind of duplicate above.</source>
        <translation>请在上方至少勾选一种重复类型。</translation>
    </message>
    <message>
        <source>Looking for duplicates…</source>
        <translation>正在查找重复图片…</translation>
    </message>
    <message>
        <source>Reading images</source>
        <translation>正在读取图片</translation>
    </message>
    <message>
        <source>Comparing embeddings</source>
        <translation>正在比较嵌入向量</translation>
    </message>
    <message>
        <source>Cancelled. Click Find duplicates to start again.</source>
        <translation>已取消。点击“查找重复图片”重新开始。</translation>
    </message>
    <message>
        <source>exact copies</source>
        <translation>完全相同的副本</translation>
    </message>
    <message>
        <source>Group {number}: {kind}</source>
        <translation>第 {number} 组：{kind}</translation>
    </message>
    <message>
        <source>size unknown</source>
        <translation>尺寸未知</translation>
    </message>
    <message>
        <source>no date</source>
        <translation>无日期</translation>
    </message>
    <message>
        <source>no preview</source>
        <translation>无预览</translation>
    </message>
    <message>
        <source>No duplicates found.</source>
        <translation>未找到重复图片。</translation>
    </message>
    <message>
        <source>Move to the trash</source>
        <translation>移到回收站</translation>
    </message>
</context>
<context>
    <name>Exports</name>
    <message numerus="yes">
        <source>Write keywords into %Ln image file(s)? Only the metadata changes, never the pixels.</source>
        <translation>
            <numerusform>将关键词写入 %Ln 个图片文件？只改动元数据，绝不改动像素。</numerusform>
        </translation>
    </message>
    <message>
        <source>A backup copy (…_original) is kept.</source>
        <translation>会保留一份备份（…_original）。</translation>
    </message>
    <message>
        <source>Write keywords into the files</source>
        <translation>将关键词写入文件</translation>
    </message>
    <message>
        <source>Writing XMP sidecars</source>
        <translation>正在写入 XMP 附属文件</translation>
    </message>
    <message>
        <source>Writing caption files</source>
        <translation>正在写入描述文本文件</translation>
    </message>
    <message>
        <source>Writing keywords into the files</source>
        <translation>正在将关键词写入文件</translation>
    </message>
    <message>
        <source>Exporting tags as {format}</source>
        <translation>正在将标签导出为 {format}</translation>
    </message>
    <message numerus="yes">
        <source>Exported %Ln image(s) to {name}</source>
        <translation>
            <numerusform>已将 %Ln 张图片导出到 {name}</numerusform>
        </translation>
    </message>
    <message>
        <source>Export tags as {format}</source>
        <translation>将标签导出为 {format}</translation>
    </message>
</context>
<context>
    <name>FirstRunPanel</name>
    <message>
        <source>&lt;b&gt;JoyTag needs its model to tag images&lt;/b&gt;</source>
        <translation>&lt;b&gt;JoyTag 需要模型才能标注图片&lt;/b&gt;</translation>
    </message>
    <message>
        <source>The JoyTag model (about 366 MB) is downloaded once from the Hugging Face Hub. If you already have it, choose its folder (config.json, model.safetensors, top_tags.txt). You can browse and search your library meanwhile.</source>
        <translation>JoyTag 模型（约 366 MB）只需从 Hugging Face Hub 下载一次。如果您已有该模型，请选择其文件夹（config.json、model.safetensors、top_tags.txt）。在此期间您可以浏览和搜索图库。</translation>
    </message>
    <message>
        <source>Download JoyTag</source>
        <translation>下载 JoyTag</translation>
    </message>
    <message>
        <source>Choose model folder…</source>
        <translation>选择模型文件夹…</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Downloading JoyTag…</source>
        <translation>正在下载 JoyTag…</translation>
    </message>
    <message>
        <source>{done} of {total} MB</source>
        <translation>{done} / {total} MB</translation>
    </message>
    <message>
        <source>JoyTag is installed in {folder}.</source>
        <translation>JoyTag 已安装在 {folder}。</translation>
    </message>
    <message>
        <source>Choose the JoyTag model folder</source>
        <translation>选择 JoyTag 模型文件夹</translation>
    </message>
</context>
<context>
    <name>FolderPanel</name>
    <message>
        <source>Click a folder to show its images; tick a library folder to watch it for changes</source>
        <translation>点击文件夹以显示其中的图片；勾选图库文件夹以监视其变化</translation>
    </message>
    <message>
        <source>Add…</source>
        <translation>添加…</translation>
    </message>
    <message>
        <source>Add a folder to the library (or drop one on the window)</source>
        <translation>向图库添加文件夹（或将文件夹拖放到窗口上）</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>Remove the selected library folder (the files are not touched)</source>
        <translation>移除所选图库文件夹（不会改动文件）</translation>
    </message>
    <message>
        <source>Rescan</source>
        <translation>重新扫描</translation>
    </message>
    <message>
        <source>&lt;b&gt;Folders&lt;/b&gt;</source>
        <translation>&lt;b&gt;文件夹&lt;/b&gt;</translation>
    </message>
    <message>
        <source>All folders ({count})</source>
        <translation>所有文件夹（{count}）</translation>
    </message>
    <message>
        <source>(offline)</source>
        <translation>（离线）</translation>
    </message>
    <message>
        <source>watched for changes</source>
        <translation>正在监视变化</translation>
    </message>
    <message>
        <source>not watched</source>
        <translation>未监视</translation>
    </message>
    <message>
        <source>Not found on this computer. If the drive is mounted somewhere else, right-click the folder and choose Locate on this computer…</source>
        <translation>在这台电脑上找不到。如果该驱动器挂载在别处，请右键单击该文件夹并选择“在这台电脑上定位…”</translation>
    </message>
    <message>
        <source>Locate on this computer…</source>
        <translation>在这台电脑上定位…</translation>
    </message>
    <message>
        <source>The same photos are at another path here (another mount point or drive letter)</source>
        <translation>同样的照片在这里位于另一路径（另一个挂载点或盘符）</translation>
    </message>
</context>
<context>
    <name>LibraryFolders</name>
    <message>
        <source>Add a folder to the library</source>
        <translation>向图库添加文件夹</translation>
    </message>
    <message>
        <source>Where is {name} on this computer?</source>
        <translation>{name} 在这台电脑上的什么位置？</translation>
    </message>
    <message>
        <source>Remove folder</source>
        <translation>移除文件夹</translation>
    </message>
    <message>
        <source>Remove {path} from the library?
The files are not touched; their tags and manual edits in the library are forgotten.</source>
        <translation>从图库中移除 {path}？
不会改动文件；图库中它们的标签和手动编辑将被遗忘。</translation>
    </message>
</context>
<context>
    <name>LongWork</name>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Stop this work at the next safe point; what is done is kept</source>
        <translation>在下一个安全点停止此项工作；已完成的部分会保留</translation>
    </message>
    <message>
        <source>{title}: {done} of {total}</source>
        <translation>{title}：{done} / {total}</translation>
    </message>
    <message>
        <source>{title}…</source>
        <translation>{title}…</translation>
    </message>
    <message numerus="yes">
        <source>(%Ln more waiting)</source>
        <translation>
            <numerusform>（另有 %Ln 项在等待）</numerusform>
        </translation>
    </message>
    <message>
        <source>stopping…</source>
        <translation>正在停止…</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>JoyTag Desktop</source>
        <translation>JoyTag Desktop</translation>
    </message>
    <message>
        <source>Log</source>
        <translation>日志</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>Add folder…</source>
        <translation>添加文件夹…</translation>
    </message>
    <message>
        <source>Rescan folders</source>
        <translation>重新扫描文件夹</translation>
    </message>
    <message>
        <source>Export current results</source>
        <translation>导出当前结果</translation>
    </message>
    <message>
        <source>XMP sidecars</source>
        <translation>XMP 附属文件</translation>
    </message>
    <message>
        <source>Caption files</source>
        <translation>描述文本文件</translation>
    </message>
    <message>
        <source>Keywords into the files…</source>
        <translation>将关键词写入文件…</translation>
    </message>
    <message>
        <source>Tags as CSV…</source>
        <translation>标签导出为 CSV…</translation>
    </message>
    <message>
        <source>Tags as JSON…</source>
        <translation>标签导出为 JSON…</translation>
    </message>
    <message>
        <source>Settings…</source>
        <translation>设置…</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation>编辑(&amp;E)</translation>
    </message>
    <message>
        <source>Undo</source>
        <translation>撤销</translation>
    </message>
    <message>
        <source>Redo</source>
        <translation>重做</translation>
    </message>
    <message>
        <source>Find</source>
        <translation>查找</translation>
    </message>
    <message>
        <source>Add tag to selection</source>
        <translation>为所选图片添加标签</translation>
    </message>
    <message>
        <source>Select all</source>
        <translation>全选</translation>
    </message>
    <message>
        <source>Retag selection</source>
        <translation>重新标注所选图片</translation>
    </message>
    <message>
        <source>Rotate</source>
        <translation>旋转</translation>
    </message>
    <message>
        <source>More like this</source>
        <translation>查找相似图片</translation>
    </message>
    <message>
        <source>Find duplicates…</source>
        <translation>查找重复图片…</translation>
    </message>
    <message>
        <source>Tag aliases and implications…</source>
        <translation>标签别名与蕴含…</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <source>Open viewer</source>
        <translation>打开查看器</translation>
    </message>
    <message>
        <source>Full screen</source>
        <translation>全屏</translation>
    </message>
    <message>
        <source>Slideshow</source>
        <translation>幻灯片放映</translation>
    </message>
    <message>
        <source>Slideshow settings</source>
        <translation>幻灯片设置</translation>
    </message>
    <message>
        <source>Larger thumbnails</source>
        <translation>放大缩略图</translation>
    </message>
    <message>
        <source>Smaller thumbnails</source>
        <translation>缩小缩略图</translation>
    </message>
    <message>
        <source>Show folders and tags</source>
        <translation>显示文件夹和标签</translation>
    </message>
    <message>
        <source>Show details</source>
        <translation>显示详细信息</translation>
    </message>
    <message>
        <source>&amp;Tagging</source>
        <translation>标注(&amp;T)</translation>
    </message>
    <message>
        <source>Models…</source>
        <translation>模型…</translation>
    </message>
    <message>
        <source>Models of this library and their thresholds…</source>
        <translation>本图库的模型及其阈值…</translation>
    </message>
    <message>
        <source>Pause / resume</source>
        <translation>暂停 / 继续</translation>
    </message>
    <message>
        <source>Cancel tagging run and scans</source>
        <translation>取消本次标注和扫描</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <source>About JoyTag Desktop</source>
        <translation>关于 JoyTag Desktop</translation>
    </message>
    <message>
        <source>the last edits</source>
        <translation>最后的编辑</translation>
    </message>
    <message>
        <source>Finishing {title} before quitting…</source>
        <translation>退出前正在完成{title}…</translation>
    </message>
    <message>
        <source>{title}: {done} of {total} done.</source>
        <translation>{title}：已完成 {done} / {total}。</translation>
    </message>
    <message>
        <source>{title} has not finished.</source>
        <translation>{title} 尚未完成。</translation>
    </message>
    <message numerus="yes">
        <source>%Ln more wait(s) after it.</source>
        <translation>
            <numerusform>其后还有 %Ln 项在等待。</numerusform>
        </translation>
    </message>
    <message>
        <source>Quit JoyTag Desktop</source>
        <translation>退出 JoyTag Desktop</translation>
    </message>
    <message>
        <source>Quit now? Exports stop at the next file and what they wrote is kept; tag and rating edits are finished first.</source>
        <translation>现在退出吗？导出会在下一个文件处停止，已写入的内容会保留；标签和分级的编辑会先完成。</translation>
    </message>
    <message>
        <source>Stop and quit</source>
        <translation>停止并退出</translation>
    </message>
    <message>
        <source>Keep working</source>
        <translation>继续工作</translation>
    </message>
    <message>
        <source>View</source>
        <translation>查看</translation>
    </message>
    <message>
        <source>Open in system viewer</source>
        <translation>用系统查看器打开</translation>
    </message>
    <message>
        <source>Show in folder</source>
        <translation>在文件夹中显示</translation>
    </message>
    <message>
        <source>Retag</source>
        <translation>重新标注</translation>
    </message>
    <message>
        <source>Write XMP sidecars</source>
        <translation>写入 XMP 附属文件</translation>
    </message>
    <message>
        <source>Write caption files</source>
        <translation>写入描述文本文件</translation>
    </message>
    <message>
        <source>Write keywords into the files…</source>
        <translation>将关键词写入文件…</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>The new language is used from the next start of JoyTag Desktop.</source>
        <translation>新语言将在 JoyTag Desktop 下次启动时生效。</translation>
    </message>
    <message>
        <source>not loaded</source>
        <translation>未加载</translation>
    </message>
    <message>
        <source>&lt;p&gt;Auto-tags your image library with the JoyTag model and makes it searchable.&lt;/p&gt;</source>
        <translation>&lt;p&gt;使用 JoyTag 模型自动标注您的图库，并使其可按标签搜索。&lt;/p&gt;</translation>
    </message>
    <message>
        <source>{error} (details in View ▸ Log)</source>
        <translation>{error}（详情见 视图 ▸ 日志）</translation>
    </message>
</context>
<context>
    <name>MarkingController</name>
    <message>
        <source>Select images in the grid first</source>
        <translation>请先在网格中选择图片</translation>
    </message>
    <message numerus="yes">
        <source>%Ln image(s) → {value}</source>
        <translation>
            <numerusform>%Ln 张图片 → {value}</numerusform>
        </translation>
    </message>
    <message>
        <source>{edit}: stopped after {done} of {total} (Edit ▸ Undo puts them back)</source>
        <translation>{edit}：在 {total} 张中完成 {done} 张后停止（编辑 ▸ 撤销可还原）</translation>
    </message>
</context>
<context>
    <name>MarksEditor</name>
    <message>
        <source>Stars of the selected images (keys 0-5)</source>
        <translation>所选图片的星级（按键 0-5）</translation>
    </message>
    <message>
        <source>No stars</source>
        <translation>无星级</translation>
    </message>
    <message>
        <source>Rejected</source>
        <translation>已拒绝</translation>
    </message>
    <message>
        <source>Colour label of the selected images (keys 6-9: red, yellow, green, blue)</source>
        <translation>所选图片的颜色标签（按键 6-9：红、黄、绿、蓝）</translation>
    </message>
    <message>
        <source>No label</source>
        <translation>无标签</translation>
    </message>
    <message>
        <source>Pick flag of the selected images (P picked, X rejected, U unflagged)</source>
        <translation>所选图片的挑选标记（P 选中，X 拒绝，U 取消标记）</translation>
    </message>
    <message>
        <source>Unflagged</source>
        <translation>未标记</translation>
    </message>
</context>
<context>
    <name>ModelChoice</name>
    <message>
        <source>Tag the library</source>
        <translation>标注图库</translation>
    </message>
    <message numerus="yes">
        <source>Tag the %Ln image(s) already in the library with {model} now?</source>
        <translation>
            <numerusform>现在用 {model} 标注图库中已有的 %Ln 张图片吗？</numerusform>
        </translation>
    </message>
    <message>
        <source>No: tagging pauses, new files too, until you press Resume in the status bar.</source>
        <translation>否：标注将暂停（新文件也是），直到您在状态栏中点击“继续”。</translation>
    </message>
</context>
<context>
    <name>ModelDownload</name>
    <message>
        <source>Download cancelled.</source>
        <translation>下载已取消。</translation>
    </message>
    <message>
        <source>Download failed: {error}</source>
        <translation>下载失败：{error}</translation>
    </message>
</context>
<context>
    <name>ModelManager</name>
    <message>
        <source>Tagger models</source>
        <translation>标注模型</translation>
    </message>
    <message>
        <source>Models come from the Hugging Face Hub (or the mirror set here), and each file is checked after download against its pinned size and SHA-256. e6tag is not offered: its author never published trained weights.</source>
        <translation>模型来自 Hugging Face Hub（或此处设置的镜像），每个文件下载后都会按其固定的大小和 SHA-256 校验。不提供 e6tag：其作者从未发布训练好的权重。</translation>
    </message>
    <message>
        <source>Models folder…</source>
        <translation>模型文件夹…</translation>
    </message>
    <message>
        <source>$HF_ENDPOINT or https://huggingface.co</source>
        <translation>$HF_ENDPOINT 或 https://huggingface.co</translation>
    </message>
    <message>
        <source>A mirror of the Hugging Face Hub to download from; empty for the default</source>
        <translation>下载所用的 Hugging Face Hub 镜像；留空则使用默认地址</translation>
    </message>
    <message>
        <source>Download</source>
        <translation>下载</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Good at</source>
        <translation>擅长</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Use for tagging</source>
        <translation>用于标注</translation>
    </message>
    <message>
        <source>Choose folder…</source>
        <translation>选择文件夹…</translation>
    </message>
    <message>
        <source>Cancel download</source>
        <translation>取消下载</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Hub endpoint:</source>
        <translation>Hub 地址：</translation>
    </message>
    <message>
        <source>Models folder: {folder}</source>
        <translation>模型文件夹：{folder}</translation>
    </message>
    <message>
        <source>Choose the folder to download models into</source>
        <translation>选择下载模型的文件夹</translation>
    </message>
    <message>
        <source>not installed</source>
        <translation>未安装</translation>
    </message>
    <message>
        <source>installed</source>
        <translation>已安装</translation>
    </message>
    <message>
        <source>in use</source>
        <translation>使用中</translation>
    </message>
    <message>
        <source>broken (download again)</source>
        <translation>已损坏（请重新下载）</translation>
    </message>
    <message>
        <source>{pinned} of {total} files pinned by SHA-256</source>
        <translation>{total} 个文件中有 {pinned} 个以 SHA-256 固定</translation>
    </message>
    <message>
        <source>, {count} by size only (SHA-256 unverified)</source>
        <translation>，{count} 个仅按大小校验（SHA-256 未核实）</translation>
    </message>
    <message>
        <source>Licence of {name}: {licence} (&lt;a href=&quot;{page}&quot;&gt;{page}&lt;/a&gt;)</source>
        <translation>{name} 的许可证：{licence}（&lt;a href=&quot;{page}&quot;&gt;{page}&lt;/a&gt;）</translation>
    </message>
    <message>
        <source>Gated: log in with `hf auth login` or set HF_TOKEN, and accept it there.</source>
        <translation>受限访问：请用 `hf auth login` 登录或设置 HF_TOKEN，并在其页面上接受许可。</translation>
    </message>
    <message>
        <source>Checked after download: {pins}.</source>
        <translation>下载后校验：{pins}。</translation>
    </message>
    <message>
        <source>Download again</source>
        <translation>重新下载</translation>
    </message>
    <message>
        <source>Licence</source>
        <translation>许可证</translation>
    </message>
    <message>
        <source>{name} is under the {licence} licence. Read it at &lt;a href=&quot;{page}&quot;&gt;{page}&lt;/a&gt;.</source>
        <translation>{name} 采用 {licence} 许可证。请在 &lt;a href=&quot;{page}&quot;&gt;{page}&lt;/a&gt; 阅读。</translation>
    </message>
    <message>
        <source>Its repository is gated: accept the licence there and log in (`hf auth login` or HF_TOKEN).</source>
        <translation>其仓库为受限访问：请在那里接受许可证并登录（`hf auth login` 或 HF_TOKEN）。</translation>
    </message>
    <message>
        <source>Accept it and download?</source>
        <translation>接受并下载？</translation>
    </message>
    <message>
        <source>Downloading {name}…</source>
        <translation>正在下载 {name}…</translation>
    </message>
    <message>
        <source>{done} of {total} MB</source>
        <translation>{done} / {total} MB</translation>
    </message>
    <message>
        <source>{name} is installed in {folder}. Click Use for tagging to tag with it.</source>
        <translation>{name} 已安装在 {folder}。点击“用于标注”即可用它标注。</translation>
    </message>
    <message>
        <source>Choose a model folder (as published)</source>
        <translation>选择模型文件夹（按发布时的原样）</translation>
    </message>
    <message>
        <source>Checking the folder {folder}…</source>
        <translation>正在检查文件夹 {folder}…</translation>
    </message>
    <message>
        <source>Found {model} ({names}) in {folder}: it tags from now on.</source>
        <translation>在 {folder} 中找到 {model}（{names}）：从现在起用它标注。</translation>
    </message>
    <message>
        <source>Found {model} in {folder}: it tags from now on.</source>
        <translation>在 {folder} 中找到 {model}：从现在起用它标注。</translation>
    </message>
    <message>
        <source>This folder cannot tag: {reason}</source>
        <translation>此文件夹无法用于标注：{reason}</translation>
    </message>
</context>
<context>
    <name>ModelRulesDialog</name>
    <message>
        <source>{model}: tags never applied and caps</source>
        <translation>{model}：从不应用的标签与上限</translation>
    </message>
    <message>
        <source>Tags {model} never applies, one a line, and at most how many tags of each category it gives an image (its highest scores are kept). Its scores already stored for these tags go when you save; lifting a rule takes effect when images are tagged again.</source>
        <translation>{model} 从不应用的标签（每行一个），以及它为每张图片在每个类别中最多给出多少个标签（保留分数最高的）。保存时会删除已为这些标签存储的分数；取消规则要在图片重新打标签后才生效。</translation>
    </message>
    <message>
        <source>watermark
signature</source>
        <translation>watermark
signature</translation>
    </message>
    <message>
        <source>no cap</source>
        <translation>无上限</translation>
    </message>
    <message>
        <source>Never apply:</source>
        <translation>从不应用：</translation>
    </message>
    <message>
        <source>At most, per image:</source>
        <translation>每张图片最多：</translation>
    </message>
    <message>
        <source>Not a tag name: {names}</source>
        <translation>不是标签名：{names}</translation>
    </message>
</context>
<context>
    <name>ModelsPage</name>
    <message>
        <source>Models that tag new and changed files, and whose scores count in searches. A model ticked here tags every image it has not tagged yet.</source>
        <translation>为新增和变更的文件打标签、且其分数计入搜索的模型。在此勾选的模型会为它尚未标注的每张图片打标签。</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Images</source>
        <translation>图片</translation>
    </message>
    <message>
        <source>Tags new files</source>
        <translation>标注新文件</translation>
    </message>
    <message>
        <source>Counts in searches</source>
        <translation>计入搜索</translation>
    </message>
    <message>
        <source>Never apply, caps</source>
        <translation>从不应用、上限</translation>
    </message>
    <message>
        <source>Its folder is unknown: choose it in Tagging → Models… to tag with it</source>
        <translation>其文件夹未知：请在“标注 → 模型…”中选择它以用其标注</translation>
    </message>
    <message>
        <source>library</source>
        <translation>图库</translation>
    </message>
    <message>
        <source>Lowest {model} score that counts for {category} tags; “library”: the library threshold</source>
        <translation>{category}标签计入的 {model} 最低分数；“图库”：使用图库阈值</translation>
    </message>
    <message>
        <source>No model has tagged this library yet.</source>
        <translation>尚无模型标注过本图库。</translation>
    </message>
    <message>
        <source>None…</source>
        <translation>无…</translation>
    </message>
    <message>
        <source>{tags}, {caps}…</source>
        <translation>{tags}，{caps}…</translation>
    </message>
    <message numerus="yes">
        <source>%n tag(s)</source>
        <translation>
            <numerusform>%n 个标签</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n cap(s)</source>
        <translation>
            <numerusform>%n 个上限</numerusform>
        </translation>
    </message>
    <message>
        <source>Tags {model} never applies, and at most how many tags of a category it gives an image</source>
        <translation>{model} 从不应用的标签，以及它为每张图片在每个类别中最多给出的标签数</translation>
    </message>
</context>
<context>
    <name>OtherWorkers</name>
    <message numerus="yes">
        <source>%Ln other worker(s) tagging, {rate} images/s</source>
        <translation>
            <numerusform>另有 %Ln 个工作进程正在标注，每秒 {rate} 张图片</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln other worker(s) idle</source>
        <translation>
            <numerusform>另有 %Ln 个工作进程空闲</numerusform>
        </translation>
    </message>
    <message>
        <source>tagging</source>
        <translation>正在标记</translation>
    </message>
    <message>
        <source>idle</source>
        <translation>空闲</translation>
    </message>
    <message>
        <source>paused</source>
        <translation>已暂停</translation>
    </message>
    <message>
        <source>starting</source>
        <translation>正在启动</translation>
    </message>
    <message>
        <source>{machine} (pid {pid}): {state}, {done} tagged, {rate} images/s on {device}</source>
        <translation>{machine}（pid {pid}）：{state}，已标注 {done} 张，每秒 {rate} 张，设备 {device}</translation>
    </message>
</context>
<context>
    <name>RelationsModel</name>
    <message>
        <source>alias of</source>
        <translation>别名指向</translation>
    </message>
    <message>
        <source>implies</source>
        <translation>蕴含</translation>
    </message>
    <message>
        <source>Tag</source>
        <translation>标签</translation>
    </message>
    <message>
        <source>Relation</source>
        <translation>关系</translation>
    </message>
    <message>
        <source>Other tag</source>
        <translation>另一标签</translation>
    </message>
</context>
<context>
    <name>Reports</name>
    <message>
        <source>CUDA was asked for but is not available: {reason}</source>
        <translation>已要求使用 CUDA，但 CUDA 不可用：{reason}</translation>
    </message>
    <message>
        <source>File ▸ Settings… ▸ Device asks for “cuda”, but tagging runs on the CPU: {reason}. Install NVIDIA&apos;s driver and PyTorch&apos;s CUDA build to use the GPU, or choose “auto” or “cpu” there.</source>
        <translation>文件 ▸ 设置… ▸ 设备 要求使用“cuda”，但标注正在 CPU 上运行：{reason}。要使用 GPU，请安装 NVIDIA 驱动和 PyTorch 的 CUDA 版本，或在那里选择“auto”或“cpu”。</translation>
    </message>
    <message>
        <source>an NVIDIA GPU is here but CUDA is not available: {reason}</source>
        <translation>这台电脑有 NVIDIA GPU，但 CUDA 不可用：{reason}</translation>
    </message>
    <message>
        <source>This computer shows an NVIDIA GPU, but tagging runs on the CPU: {reason}. Install NVIDIA&apos;s driver and PyTorch&apos;s CUDA build to use the GPU, or choose “cpu” in File ▸ Settings… ▸ Device.</source>
        <translation>这台电脑有 NVIDIA GPU，但标注正在 CPU 上运行：{reason}。要使用 GPU，请安装 NVIDIA 驱动和 PyTorch 的 CUDA 版本，或在 文件 ▸ 设置… ▸ 设备 中选择“cpu”。</translation>
    </message>
    <message numerus="yes">
        <source>CPU (%Ln thread(s))</source>
        <translation>
            <numerusform>CPU（%Ln 个线程）</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>batch %Ln</source>
        <translation>
            <numerusform>批量 %Ln</numerusform>
        </translation>
    </message>
    <message>
        <source>fast preprocessing</source>
        <translation>快速预处理</translation>
    </message>
    <message>
        <source>reference preprocessing</source>
        <translation>参考预处理</translation>
    </message>
    <message>
        <source>, </source>
        <translation>，</translation>
    </message>
    <message numerus="yes">
        <source>%Ln new</source>
        <translation>
            <numerusform>新增 %Ln 个</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln changed</source>
        <translation>
            <numerusform>改动 %Ln 个</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln moved</source>
        <translation>
            <numerusform>移动 %Ln 个</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln missing</source>
        <translation>
            <numerusform>缺失 %Ln 个</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln unchanged</source>
        <translation>
            <numerusform>未变 %Ln 个</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln back</source>
        <translation>
            <numerusform>找回 %Ln 个</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>keywords changed on %Ln image(s)</source>
        <translation>
            <numerusform>%Ln 张图片的关键词有改动</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln unreadable</source>
        <translation>
            <numerusform>无法读取 %Ln 个</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln folder(s) offline</source>
        <translation>
            <numerusform>%Ln 个文件夹离线</numerusform>
        </translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>已取消</translation>
    </message>
    <message numerus="yes">
        <source>%Ln written</source>
        <translation>
            <numerusform>写入 %Ln 个</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln skipped</source>
        <translation>
            <numerusform>跳过 %Ln 个</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln failed</source>
        <translation>
            <numerusform>失败 %Ln 个</numerusform>
        </translation>
    </message>
    <message>
        <source>(cancelled: the other files were left as they were)</source>
        <translation>（已取消：其余文件保持原样）</translation>
    </message>
</context>
<context>
    <name>ResultsPanel</name>
    <message>
        <source>Thumbnail size (Ctrl+wheel over the grid)</source>
        <translation>缩略图大小（在网格上按住 Ctrl 滚动滚轮）</translation>
    </message>
    <message>
        <source>&lt;span style=&apos;color:#e6aa28&apos;&gt;●&lt;/span&gt; waiting &amp;nbsp; &lt;span style=&apos;color:#dc3c3c&apos;&gt;●&lt;/span&gt; failed &amp;nbsp; &lt;span style=&apos;color:#8c8c8c&apos;&gt;●&lt;/span&gt; missing</source>
        <translation>&lt;span style=&apos;color:#e6aa28&apos;&gt;●&lt;/span&gt; 等待中 &amp;nbsp; &lt;span style=&apos;color:#dc3c3c&apos;&gt;●&lt;/span&gt; 失败 &amp;nbsp; &lt;span style=&apos;color:#8c8c8c&apos;&gt;●&lt;/span&gt; 缺失</translation>
    </message>
    <message>
        <source>Marks on thumbnails: orange, waiting to be tagged; red, could not be read or tagged (search status:error); grey, the file is missing or its folder offline</source>
        <translation>缩略图上的标记：橙色，等待标注；红色，无法读取或标注（搜索 status:error）；灰色，文件缺失或其文件夹离线</translation>
    </message>
    <message>
        <source>&lt;h3&gt;Your library is empty&lt;/h3&gt;&lt;p&gt;Press &lt;b&gt;Add…&lt;/b&gt; under Folders (or File ▸ Add folder…), or drop a folder onto this window. JoyTag Desktop indexes it, tags the images in the background and keeps watching it for changes. Your files are never moved.&lt;/p&gt;</source>
        <translation>&lt;h3&gt;您的图库是空的&lt;/h3&gt;&lt;p&gt;点击“文件夹”下的&lt;b&gt;添加…&lt;/b&gt;（或 文件 ▸ 添加文件夹…），或将文件夹拖放到此窗口。JoyTag Desktop 会为其建立索引，在后台标注图片，并持续监视其变化。您的文件永远不会被移动。&lt;/p&gt;</translation>
    </message>
    <message>
        <source>&lt;h3&gt;Scanning…&lt;/h3&gt;&lt;p&gt;{count:,} files found. The images appear here as they are stored.&lt;/p&gt;</source>
        <translation>&lt;h3&gt;正在扫描…&lt;/h3&gt;&lt;p&gt;已找到 {count:,} 个文件。图片一经存储就会显示在这里。&lt;/p&gt;</translation>
    </message>
    <message numerus="yes">
        <source>%Ln image(s)</source>
        <translation>
            <numerusform>%Ln 张图片</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Still showing the previous results (%Ln image(s))</source>
        <translation>
            <numerusform>仍显示之前的结果（%Ln 张图片）</numerusform>
        </translation>
    </message>
    <message>
        <source>Nothing matches “{word}” yet: keep typing or press Enter</source>
        <translation>暂无与“{word}”匹配的结果：继续输入或按回车键</translation>
    </message>
    <message>
        <source>{message} — at position {position}: …{context}…</source>
        <translation>{message} — 位置 {position}：…{context}…</translation>
    </message>
</context>
<context>
    <name>RotationController</name>
    <message>
        <source>Rotate right (clockwise)</source>
        <translation>向右旋转（顺时针）</translation>
    </message>
    <message>
        <source>Rotate left (counter-clockwise)</source>
        <translation>向左旋转（逆时针）</translation>
    </message>
    <message>
        <source>Rotate 180°</source>
        <translation>旋转 180°</translation>
    </message>
    <message>
        <source>Flip horizontally</source>
        <translation>水平翻转</translation>
    </message>
    <message>
        <source>Flip vertically</source>
        <translation>垂直翻转</translation>
    </message>
    <message>
        <source>Select images in the grid first</source>
        <translation>请先在网格中选择图片</translation>
    </message>
    <message numerus="yes">
        <source>{turn}: %Ln image(s)</source>
        <translation>
            <numerusform>{turn}：%Ln 张图片</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Turned back %Ln image(s); they will be tagged again</source>
        <translation>
            <numerusform>已转回 %Ln 张图片；它们将重新打标签</numerusform>
        </translation>
    </message>
    <message>
        <source>Rotating stopped after {done} of {total} (Edit ▸ Undo turns them back)</source>
        <translation>旋转在 {total} 张中完成 {done} 张后停止（编辑 ▸ 撤销可转回）</translation>
    </message>
    <message numerus="yes">
        <source>Rotated %Ln image(s); they will be tagged again (Edit ▸ Undo turns them back)</source>
        <translation>
            <numerusform>已旋转 %Ln 张图片；它们将重新打标签（编辑 ▸ 撤销可转回）</numerusform>
        </translation>
    </message>
    <message>
        <source>Not rotated: {path}: {reason}</source>
        <translation>未旋转：{path}：{reason}</translation>
    </message>
    <message numerus="yes">
        <source>(and %Ln more)</source>
        <translation>
            <numerusform>（另有 %Ln 张）</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>SafeViewMenu</name>
    <message>
        <source>Safe view</source>
        <translation>安全视图</translation>
    </message>
    <message>
        <source>Blur or hide images rated above the level chosen in View → Safe view options</source>
        <translation>模糊或隐藏分级高于“视图 → 安全视图选项”中所选级别的图片</translation>
    </message>
    <message>
        <source>Safe view options</source>
        <translation>安全视图选项</translation>
    </message>
    <message>
        <source>Show only general images freely</source>
        <translation>仅正常显示全年龄图片</translation>
    </message>
    <message>
        <source>Show general and sensitive images freely</source>
        <translation>正常显示全年龄和敏感图片</translation>
    </message>
    <message>
        <source>Keep only explicit images out of sight</source>
        <translation>仅隐藏露骨图片</translation>
    </message>
    <message>
        <source>Blur them</source>
        <translation>模糊显示</translation>
    </message>
    <message>
        <source>Leave them out of the results</source>
        <translation>从结果中排除</translation>
    </message>
    <message>
        <source>Treat unrated images as above the level</source>
        <translation>将未分级图片视为高于该级别</translation>
    </message>
    <message>
        <source>Images no model with rating outputs (WD, camie) has tagged, and that you have not rated</source>
        <translation>尚无带分级输出的模型（WD、camie）标注过、您也未手动分级的图片</translation>
    </message>
</context>
<context>
    <name>SafeViewNotice</name>
    <message>
        <source>Show them</source>
        <translation>显示它们</translation>
    </message>
    <message>
        <source>Turn off View ▸ Safe view (Ctrl+Shift+S)</source>
        <translation>关闭 视图 ▸ 安全浏览（Ctrl+Shift+S）</translation>
    </message>
    <message numerus="yes">
        <source>Safe view leaves %Ln image(s) out of these results (View ▸ Safe view).</source>
        <translation>
            <numerusform>安全浏览从这些结果中隐藏了 %Ln 张图片（视图 ▸ 安全浏览）。</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>SearchBar</name>
    <message>
        <source>Search: cat outdoors -indoors, cat | dog, *_hair, cat:&gt;0.8, camera:canon, date:2023-01..2023-06, folder:holidays</source>
        <translation>搜索：cat outdoors -indoors、cat | dog、*_hair、cat:&gt;0.8、camera:canon、date:2023-01..2023-06、folder:holidays</translation>
    </message>
    <message>
        <source>Tags, fields and dates as in the placeholder. Words that are not tags (a dog on a beach, 一只猫) search by meaning when Return is pressed, with a text model (SigLIP2, Tagging ▸ Models…); text:&quot;…&quot; does so beside tags, folders and dates.</source>
        <translation>标签、字段和日期的写法如占位文字所示。不是标签的词语（a dog on a beach、一只猫）在按回车时按含义搜索，需要文本模型（SigLIP2，标注 ▸ 模型…）；text:&quot;…&quot; 可与标签、文件夹和日期一起按含义搜索。</translation>
    </message>
    <message>
        <source>Sort order</source>
        <translation>排序方式</translation>
    </message>
    <message>
        <source>Folder and file name</source>
        <translation>文件夹和文件名</translation>
    </message>
    <message>
        <source>File name</source>
        <translation>文件名</translation>
    </message>
    <message>
        <source>Date taken</source>
        <translation>拍摄日期</translation>
    </message>
    <message>
        <source>Date added</source>
        <translation>添加日期</translation>
    </message>
    <message>
        <source>File size</source>
        <translation>文件大小</translation>
    </message>
    <message>
        <source>Tag score</source>
        <translation>标签分数</translation>
    </message>
    <message>
        <source>Similarity (like: and text: searches)</source>
        <translation>相似度（like: 和 text: 搜索）</translation>
    </message>
    <message>
        <source>Camera</source>
        <translation>相机</translation>
    </message>
    <message>
        <source>Number of tags</source>
        <translation>标签数量</translation>
    </message>
    <message>
        <source>Stars</source>
        <translation>星级</translation>
    </message>
    <message>
        <source>Descending (click for ascending)</source>
        <translation>降序（点击改为升序）</translation>
    </message>
    <message>
        <source>Ascending (click for descending)</source>
        <translation>升序（点击改为降序）</translation>
    </message>
</context>
<context>
    <name>SearchController</name>
    <message>
        <source>no tag matches every word; to search in words, add SigLIP2 in Tagging ▸ Models…</source>
        <translation>没有标签能匹配所有词语；要按文字搜索，请在 标注 ▸ 模型… 中添加 SigLIP2</translation>
    </message>
    <message>
        <source>searched in words, nearest first</source>
        <translation>按文字搜索，最接近的在前</translation>
    </message>
    <message>
        <source>No text model is installed: add SigLIP2 in Tagging ▸ Models… to search in words</source>
        <translation>未安装文本模型：请在 标注 ▸ 模型… 中添加 SigLIP2 以按文字搜索</translation>
    </message>
    <message>
        <source>{name} is not in the library; the model tagged it: {tags}</source>
        <translation>{name} 不在图库中；模型为其标注：{tags}</translation>
    </message>
</context>
<context>
    <name>SelectionController</name>
    <message>
        <source>cannot read the preview</source>
        <translation>无法读取预览</translation>
    </message>
    <message>
        <source>Select images in the grid first</source>
        <translation>请先在网格中选择图片</translation>
    </message>
    <message numerus="yes">
        <source>reset {tags} to the model on %Ln image(s)</source>
        <translation>
            <numerusform>将 %Ln 张图片上的 {tags} 恢复为模型结果</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>add {tags} to %Ln image(s)</source>
        <translation>
            <numerusform>为 %Ln 张图片添加 {tags}</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>remove {tags} from %Ln image(s)</source>
        <translation>
            <numerusform>从 %Ln 张图片移除 {tags}</numerusform>
        </translation>
    </message>
    <message>
        <source>{edit}: stopped after {done} of {total} (Edit ▸ Undo puts them back)</source>
        <translation>{edit}：在 {done} / {total} 处停止（编辑 ▸ 撤销 可将其恢复）</translation>
    </message>
    <message numerus="yes">
        <source>rating of %Ln image(s) → {rating}</source>
        <translation>
            <numerusform>%Ln 张图片的分级 → {rating}</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>rating of %Ln image(s) → from the models</source>
        <translation>
            <numerusform>%Ln 张图片的分级 → 由模型决定</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>retag %Ln image(s)</source>
        <translation>
            <numerusform>重新标注 %Ln 张图片</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>the downloaded JoyTag</source>
        <translation>已下载的 JoyTag</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <source>automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <source>AI scores below this are not stored (applies to images tagged from now on)</source>
        <translation>低于此值的 AI 分数不会保存（对今后标注的图片生效）</translation>
    </message>
    <message>
        <source>photo.jpg.xmp (digiKam, darktable)</source>
        <translation>photo.jpg.xmp（digiKam、darktable）</translation>
    </message>
    <message>
        <source>photo.xmp (Lightroom, Capture One)</source>
        <translation>photo.xmp（Lightroom、Capture One）</translation>
    </message>
    <message>
        <source>File keywords by category (JoyTag|character|name)</source>
        <translation>按类别归档关键词（JoyTag|character|名称）</translation>
    </message>
    <message>
        <source>Leave rating tags out of keywords and captions</source>
        <translation>关键词和描述文本中不包含分级标签</translation>
    </message>
    <message>
        <source>Write XMP sidecars automatically after tagging</source>
        <translation>标注后自动写入 XMP 附属文件</translation>
    </message>
    <message>
        <source>Keep a backup when writing keywords into image files</source>
        <translation>将关键词写入图片文件时保留备份</translation>
    </message>
    <message>
        <source>System default</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <source>The language of the window (used from the next start); tags stay as the model names them</source>
        <translation>窗口的语言（下次启动时生效）；标签保持模型中的名称</translation>
    </message>
    <message>
        <source>library.sqlite3 in the data folder (takes effect on restart)</source>
        <translation>数据文件夹中的 library.sqlite3（重启后生效）</translation>
    </message>
    <message>
        <source>A library file (path), or a library shared by several computers on a PostgreSQL server: postgresql+psycopg://user:password@server/database</source>
        <translation>图库文件（路径），或在 PostgreSQL 服务器上由多台电脑共享的图库：postgresql+psycopg://用户:密码@服务器/数据库</translation>
    </message>
    <message>
        <source>Model folder</source>
        <translation>模型文件夹</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>设备</translation>
    </message>
    <message>
        <source>Batch size</source>
        <translation>批大小</translation>
    </message>
    <message>
        <source>Threshold preset</source>
        <translation>阈值预设</translation>
    </message>
    <message>
        <source>Threshold</source>
        <translation>阈值</translation>
    </message>
    <message>
        <source>Storage floor</source>
        <translation>存储下限</translation>
    </message>
    <message>
        <source>Sidecar naming</source>
        <translation>附属文件命名</translation>
    </message>
    <message>
        <source>Keyword parent</source>
        <translation>关键词父级</translation>
    </message>
    <message>
        <source>Database</source>
        <translation>数据库</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>General</source>
        <comment>settings tab</comment>
        <translation>常规</translation>
    </message>
    <message>
        <source>Models</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Choose the JoyTag model folder</source>
        <translation>选择 JoyTag 模型文件夹</translation>
    </message>
</context>
<context>
    <name>SlideshowMenu</name>
    <message numerus="yes">
        <source>Every %n second(s)</source>
        <translation>
            <numerusform>每 %n 秒</numerusform>
        </translation>
    </message>
    <message>
        <source>Random order</source>
        <translation>随机顺序</translation>
    </message>
</context>
<context>
    <name>TagEditor</name>
    <message>
        <source>Tag</source>
        <translation>标签</translation>
    </message>
    <message>
        <source>Confidence</source>
        <translation>置信度</translation>
    </message>
    <message>
        <source>Source</source>
        <translation>来源</translation>
    </message>
    <message>
        <source>Score</source>
        <translation>分数</translation>
    </message>
    <message>
        <source>removed by hand</source>
        <translation>手动移除</translation>
    </message>
    <message>
        <source>added by hand</source>
        <translation>手动添加</translation>
    </message>
    <message>
        <source>from the file&apos;s keywords</source>
        <translation>来自文件的关键词</translation>
    </message>
    <message>
        <source>model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>own threshold {value:.2f}</source>
        <translation>单独阈值 {value:.2f}</translation>
    </message>
    <message>
        <source>{count} of {total}</source>
        <translation>{count} / {total}</translation>
    </message>
    <message>
        <source>{alias} → {target}</source>
        <translation>{alias} → {target}</translation>
    </message>
    <message>
        <source>{model} gave no score above the storage floor</source>
        <translation>{model} 没有给出高于存储下限的分数</translation>
    </message>
    <message>
        <source>{model}: not searched (Settings → Models)</source>
        <translation>{model}：不计入搜索（设置 → 模型）</translation>
    </message>
    <message>
        <source>{model}: threshold {value:.2f}</source>
        <translation>{model}：阈值 {value:.2f}</translation>
    </message>
    <message>
        <source>model score {score:.3f}</source>
        <translation>模型分数 {score:.3f}</translation>
    </message>
    <message>
        <source>no model score</source>
        <translation>无模型分数</translation>
    </message>
    <message>
        <source>another name of {target}</source>
        <translation>{target} 的别名</translation>
    </message>
    <message>
        <source>threshold {value:.2f}</source>
        <translation>阈值 {value:.2f}</translation>
    </message>
    <message>
        <source>score {score} (threshold {threshold:.2f})</source>
        <translation>分数 {score}（阈值 {threshold:.2f}）</translation>
    </message>
    <message>
        <source>Add to every selected image</source>
        <translation>添加到每张所选图片</translation>
    </message>
    <message>
        <source>Remove from the selected images</source>
        <translation>从所选图片中移除</translation>
    </message>
    <message>
        <source>Reset to the model&apos;s opinion</source>
        <translation>恢复为模型判断</translation>
    </message>
    <message>
        <source>Forget the manual edit: the model&apos;s score decides again</source>
        <translation>放弃手动编辑：重新由模型分数决定</translation>
    </message>
    <message>
        <source>Threshold for “{tag}”…</source>
        <translation>“{tag}”的阈值…</translation>
    </message>
    <message>
        <source>Use the global threshold for “{tag}”</source>
        <translation>“{tag}”使用全局阈值</translation>
    </message>
    <message>
        <source>Search for “{tag}”</source>
        <translation>搜索“{tag}”</translation>
    </message>
    <message>
        <source>Copy tag</source>
        <translation>复制标签</translation>
    </message>
</context>
<context>
    <name>TagListPanel</name>
    <message>
        <source>&lt;b&gt;Tags in the results&lt;/b&gt;</source>
        <translation>&lt;b&gt;结果中的标签&lt;/b&gt;</translation>
    </message>
    <message>
        <source>Filter tags…</source>
        <translation>筛选标签…</translation>
    </message>
    <message>
        <source>Double-click (or Enter) to add the tag to the search; right-click for more</source>
        <translation>双击（或回车）将标签加入搜索；右键查看更多操作</translation>
    </message>
    <message numerus="yes">
        <source>&lt;b&gt;Tags in the results&lt;/b&gt; (%Ln image(s))</source>
        <translation>
            <numerusform>&lt;b&gt;结果中的标签&lt;/b&gt;（%Ln 张图片）</numerusform>
        </translation>
    </message>
    <message>
        <source>Search for “{tag}”</source>
        <translation>搜索“{tag}”</translation>
    </message>
    <message>
        <source>Add to the search</source>
        <translation>加入搜索</translation>
    </message>
    <message>
        <source>Exclude from the search</source>
        <translation>从搜索中排除</translation>
    </message>
    <message>
        <source>Copy tag</source>
        <translation>复制标签</translation>
    </message>
    <message>
        <source>Rename…</source>
        <translation>重命名…</translation>
    </message>
    <message>
        <source>Merge into…</source>
        <translation>合并到…</translation>
    </message>
    <message>
        <source>Delete from all images…</source>
        <translation>从所有图片中删除…</translation>
    </message>
    <message>
        <source>Alias to…</source>
        <translation>设为别名…</translation>
    </message>
    <message>
        <source>Implies…</source>
        <translation>蕴含…</translation>
    </message>
</context>
<context>
    <name>TaggingStatus</name>
    <message>
        <source>Loading the model… The first load converts it for this computer, once: up to a minute.</source>
        <translation>正在加载模型… 首次加载会为这台电脑转换一次模型：最多需要一分钟。</translation>
    </message>
    <message>
        <source>Loading the model…</source>
        <translation>正在加载模型…</translation>
    </message>
    <message>
        <source>Tagging stopped: see the log (View ▸ Log)</source>
        <translation>标注已停止：请查看日志（视图 ▸ 日志）</translation>
    </message>
</context>
<context>
    <name>ThresholdController</name>
    <message>
        <source>threshold {old:.2f} → {new:.2f}</source>
        <translation>阈值 {old:.2f} → {new:.2f}</translation>
    </message>
    <message>
        <source>Threshold for one tag</source>
        <translation>单个标签的阈值</translation>
    </message>
    <message>
        <source>Lowest score that counts as “{tag}” (the global threshold is {value:.2f}):</source>
        <translation>计为“{tag}”的最低分数（全局阈值为 {value:.2f}）：</translation>
    </message>
    <message>
        <source>threshold of {tag} → {value:.2f}</source>
        <translation>{tag} 的阈值 → {value:.2f}</translation>
    </message>
    <message>
        <source>threshold of {tag} → global</source>
        <translation>{tag} 的阈值 → 全局</translation>
    </message>
</context>
<context>
    <name>Viewer</name>
    <message>
        <source>Viewer</source>
        <translation>查看器</translation>
    </message>
    <message>
        <source>Blurred by View → Safe view: press V to show this image</source>
        <translation>已被“视图 → 安全视图”模糊：按 V 显示此图片</translation>
    </message>
    <message>
        <source>◀ Previous</source>
        <translation>◀ 上一张</translation>
    </message>
    <message>
        <source>Next ▶</source>
        <translation>下一张 ▶</translation>
    </message>
    <message>
        <source>Fit</source>
        <translation>适应窗口</translation>
    </message>
    <message>
        <source>1:1</source>
        <translation>1:1</translation>
    </message>
    <message>
        <source>Previous image (Left, Page Up)</source>
        <translation>上一张图片（左方向键、Page Up）</translation>
    </message>
    <message>
        <source>Next image (Right, Page Down, Space)</source>
        <translation>下一张图片（右方向键、Page Down、空格）</translation>
    </message>
    <message>
        <source>Fit to the window (F, double-click)</source>
        <translation>适应窗口（F、双击）</translation>
    </message>
    <message>
        <source>Actual size (Z); zoom with the wheel or + and -</source>
        <translation>实际大小（Z）；用滚轮或 + 和 - 缩放</translation>
    </message>
    <message>
        <source>Loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <source>No tags</source>
        <translation>无标签</translation>
    </message>
</context>
<context>
    <name>VocabularyController</name>
    <message>
        <source>Delete tag</source>
        <translation>删除标签</translation>
    </message>
    <message>
        <source>Take “{tag}” off every image? Models&apos; scores stay; Edit ▸ Undo puts it back.</source>
        <translation>从每张图片上去掉“{tag}”？模型的分数保留；编辑 ▸ 撤销可还原。</translation>
    </message>
    <message>
        <source>Rename tag</source>
        <translation>重命名标签</translation>
    </message>
    <message>
        <source>New name for “{tag}” on every image:</source>
        <translation>每张图片上“{tag}”的新名称：</translation>
    </message>
    <message>
        <source>Merge tag</source>
        <translation>合并标签</translation>
    </message>
    <message>
        <source>Merge “{tag}” into:</source>
        <translation>将“{tag}”合并到：</translation>
    </message>
    <message>
        <source>Alias tag</source>
        <translation>标签别名</translation>
    </message>
    <message>
        <source>“{tag}” is another name of:</source>
        <translation>“{tag}”是以下标签的别名：</translation>
    </message>
    <message>
        <source>Tag implies</source>
        <translation>标签蕴含</translation>
    </message>
    <message>
        <source>Every image with “{tag}” also counts as:</source>
        <translation>每张带有“{tag}”的图片也算作：</translation>
    </message>
    <message>
        <source>rename {old} to {new}</source>
        <translation>将 {old} 重命名为 {new}</translation>
    </message>
    <message>
        <source>merge {old} into {new}</source>
        <translation>将 {old} 合并到 {new}</translation>
    </message>
    <message>
        <source>delete {tag} from every image</source>
        <translation>从每张图片删除 {tag}</translation>
    </message>
    <message>
        <source>alias {old} to {new}</source>
        <translation>将 {old} 设为 {new} 的别名</translation>
    </message>
    <message>
        <source>{old} implies {new}</source>
        <translation>{old} 蕴含 {new}</translation>
    </message>
    <message>
        <source>“{tag}” is a model&apos;s own tag: it can only be aliased (Alias to…)</source>
        <translation>“{tag}”是模型自己的标签：只能为它设置别名（设为别名…）</translation>
    </message>
    <message>
        <source>{edit}: stopped part way</source>
        <translation>{edit}：中途停止</translation>
    </message>
    <message>
        <source>Drop the tag on a thumbnail or a selection</source>
        <translation>将标签拖放到缩略图或所选图片上</translation>
    </message>
    <message numerus="yes">
        <source>add {tags} to %Ln image(s)</source>
        <translation>
            <numerusform>为 %Ln 张图片添加 {tags}</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>VocabularyWindow</name>
    <message>
        <source>Tag aliases and implications</source>
        <translation>标签别名与蕴含</translation>
    </message>
    <message>
        <source>Filter by tag</source>
        <translation>按标签筛选</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>Remove the selected aliases and implications (Edit ▸ Undo puts them back)</source>
        <translation>移除所选别名与蕴含（编辑 ▸ 撤销可还原）</translation>
    </message>
    <message>
        <source>Import aliases…</source>
        <translation>导入别名…</translation>
    </message>
    <message>
        <source>Import implications…</source>
        <translation>导入蕴含…</translation>
    </message>
    <message>
        <source>Export aliases…</source>
        <translation>导出别名…</translation>
    </message>
    <message>
        <source>Export implications…</source>
        <translation>导出蕴含…</translation>
    </message>
    <message numerus="yes">
        <source>%Ln alias(es)</source>
        <translation>
            <numerusform>%Ln 个别名</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln implication(s)</source>
        <translation>
            <numerusform>%Ln 个蕴含</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>remove %n alias(es) or implication(s)</source>
        <translation>
            <numerusform>移除 %n 个别名或蕴含</numerusform>
        </translation>
    </message>
    <message>
        <source>Import aliases</source>
        <translation>导入别名</translation>
    </message>
    <message>
        <source>Import implications</source>
        <translation>导入蕴含</translation>
    </message>
    <message>
        <source>Importing {file}</source>
        <translation>正在导入 {file}</translation>
    </message>
    <message>
        <source>import {file}</source>
        <translation>导入 {file}</translation>
    </message>
    <message numerus="yes">
        <source>{file}: %n alias(es) or implication(s) removed</source>
        <translation>
            <numerusform>{file}：已移除 %n 个别名或蕴含</numerusform>
        </translation>
    </message>
    <message>
        <source>{file}: {added} added, {unchanged} already there, {refused} refused</source>
        <translation>{file}：新增 {added} 个，已存在 {unchanged} 个，拒绝 {refused} 个</translation>
    </message>
    <message>
        <source>{edit}: stopped part way</source>
        <translation>{edit}：中途停止</translation>
    </message>
    <message>
        <source>Export aliases</source>
        <translation>导出别名</translation>
    </message>
    <message>
        <source>Export implications</source>
        <translation>导出蕴含</translation>
    </message>
    <message numerus="yes">
        <source>{file}: %n row(s) written</source>
        <translation>
            <numerusform>{file}：已写入 %n 行</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>WorkStatus</name>
    <message>
        <source>Idle</source>
        <translation>空闲</translation>
    </message>
    <message>
        <source>Pause</source>
        <translation>暂停</translation>
    </message>
    <message>
        <source>Pause tagging (Ctrl+P); press again to resume</source>
        <translation>暂停标注（Ctrl+P）；再按一次继续</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Stop tagging and scans; what is done is kept, the rest waits until you press Resume</source>
        <translation>停止标注和扫描；已完成的部分会保留，其余的等待您点击“继续”</translation>
    </message>
    <message>
        <source>Model: {name}</source>
        <translation>模型：{name}</translation>
    </message>
    <message numerus="yes">
        <source>Scanning {folder}: %Ln file(s)…</source>
        <translation>
            <numerusform>正在扫描 {folder}：%Ln 个文件…</numerusform>
        </translation>
    </message>
    <message>
        <source>Scanning {folder}…</source>
        <translation>正在扫描 {folder}…</translation>
    </message>
    <message>
        <source>Scanning folders…</source>
        <translation>正在扫描文件夹…</translation>
    </message>
    <message>
        <source>Scan: {summary}</source>
        <translation>扫描：{summary}</translation>
    </message>
    <message>
        <source>Resume</source>
        <translation>继续</translation>
    </message>
    <message>
        <source>Tagging {done} of {total} ({rate} images/s, {left} left)</source>
        <translation>正在标注 {done} / {total}（每秒 {rate} 张，剩余 {left}）</translation>
    </message>
    <message>
        <source>Tagging {done} of {total}</source>
        <translation>正在标注 {done} / {total}</translation>
    </message>
    <message numerus="yes">
        <source>&lt;a href=&apos;status:error&apos;&gt;%Ln could not be tagged&lt;/a&gt;</source>
        <translation>
            <numerusform>&lt;a href=&apos;status:error&apos;&gt;%Ln 张无法标注&lt;/a&gt;</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Tagging stopped: %Ln image(s) wait (press Resume to go on)</source>
        <translation>
            <numerusform>标注已停止：%Ln 张图片等待中（点击“继续”以继续）</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Tagging paused: %Ln image(s) wait</source>
        <translation>
            <numerusform>标注已暂停：%Ln 张图片等待中</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%Ln image(s) wait to be tagged</source>
        <translation>
            <numerusform>%Ln 张图片等待标注</numerusform>
        </translation>
    </message>
    <message>
        <source>All images tagged</source>
        <translation>所有图片均已标注</translation>
    </message>
    <message>
        <source>Click the link to show the images that failed</source>
        <translation>点击链接以显示失败的图片</translation>
    </message>
</context>
<context>
    <name>_Card</name>
    <message>
        <source>✔ Kept</source>
        <translation>✔ 保留</translation>
    </message>
    <message>
        <source>This file stays where it is; the ticked copies of this group go to the trash.</source>
        <translation>此文件保留在原处；本组中勾选的副本将移到回收站。</translation>
    </message>
    <message>
        <source>Keep this one</source>
        <translation>保留这个</translation>
    </message>
    <message>
        <source>Move to the trash</source>
        <translation>移到回收站</translation>
    </message>
</context>
<context>
    <name>_Plurals</name>
    <message numerus="yes">
        <source>%n star(s)</source>
        <translation>
            <numerusform>%n 星</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>app</name>
    <message>
        <source>this library is already open in another window; it was brought to the front</source>
        <translation>此图库已在另一个窗口中打开；已将该窗口置于前台</translation>
    </message>
    <message>
        <source>this library is already open in another window, which did not answer (it may be busy)</source>
        <translation>此图库已在另一个窗口中打开，但该窗口没有响应（可能正忙）</translation>
    </message>
    <message>
        <source>Upgrading the library for this version of JoyTag Desktop… A big library takes a few minutes. If this is interrupted, the library stays as it was and the upgrade starts again next time.</source>
        <translation>正在为此版本的 JoyTag Desktop 升级图库…大型图库需要几分钟。如果升级被中断，图库将保持原样，下次启动时会重新升级。</translation>
    </message>
    <message>
        <source>The library database cannot be used:

{error}</source>
        <translation>无法使用图库数据库：

{error}</translation>
    </message>
    <message>
        <source>The library database cannot be opened:

{error}</source>
        <translation>无法打开图库数据库：

{error}</translation>
    </message>
</context>
<context>
    <name>categories</name>
    <message>
        <source>Characters</source>
        <translation>角色</translation>
    </message>
    <message>
        <source>Species</source>
        <translation>物种</translation>
    </message>
    <message>
        <source>Series</source>
        <translation>作品</translation>
    </message>
    <message>
        <source>Artists</source>
        <translation>画师</translation>
    </message>
    <message>
        <source>General</source>
        <comment>tag category: everyday tags</comment>
        <translation>通用</translation>
    </message>
    <message>
        <source>Meta</source>
        <translation>元信息</translation>
    </message>
    <message>
        <source>Lore</source>
        <translation>设定</translation>
    </message>
    <message>
        <source>Year</source>
        <translation>年份</translation>
    </message>
    <message>
        <source>Rating</source>
        <translation>分级</translation>
    </message>
    <message>
        <source>Keywords from the files</source>
        <translation>来自文件的关键词</translation>
    </message>
</context>
<context>
    <name>grid</name>
    <message>
        <source>waiting to be tagged (orange mark)</source>
        <translation>等待标注（橙色标记）</translation>
    </message>
    <message>
        <source>could not be read or tagged (red mark)</source>
        <translation>无法读取或标注（红色标记）</translation>
    </message>
    <message>
        <source>file missing or folder offline (grey mark)</source>
        <translation>文件缺失或文件夹离线（灰色标记）</translation>
    </message>
    <message>
        <source>tagged</source>
        <translation>已标注</translation>
    </message>
    <message>
        <source>blurred by View → Safe view</source>
        <translation>已被“视图 → 安全视图”模糊</translation>
    </message>
</context>
<context>
    <name>marks</name>
    <message>
        <source>Red</source>
        <translation>红色</translation>
    </message>
    <message>
        <source>Orange</source>
        <translation>橙色</translation>
    </message>
    <message>
        <source>Yellow</source>
        <translation>黄色</translation>
    </message>
    <message>
        <source>Green</source>
        <translation>绿色</translation>
    </message>
    <message>
        <source>Blue</source>
        <translation>蓝色</translation>
    </message>
    <message>
        <source>Purple</source>
        <translation>紫色</translation>
    </message>
    <message>
        <source>Gray</source>
        <translation>灰色</translation>
    </message>
    <message>
        <source>Black</source>
        <translation>黑色</translation>
    </message>
    <message>
        <source>White</source>
        <translation>白色</translation>
    </message>
    <message>
        <source>Picked</source>
        <translation>已选中</translation>
    </message>
    <message>
        <source>Rejected</source>
        <translation>已拒绝</translation>
    </message>
    <message>
        <source>Pending</source>
        <translation>待定</translation>
    </message>
    <message>
        <source>no stars</source>
        <translation>无星级</translation>
    </message>
    <message>
        <source>rejected</source>
        <translation>已拒绝</translation>
    </message>
    <message>
        <source>no label</source>
        <translation>无标签</translation>
    </message>
    <message>
        <source>unflagged</source>
        <translation>未标记</translation>
    </message>
</context>
<context>
    <name>messages</name>
    <message>
        <source>No tagger model is installed. Press “Download JoyTag”, or press “Choose model folder…” and pick a model folder as published on the Hugging Face Hub.</source>
        <translation>尚未安装标注模型。点击“下载 JoyTag”，或点击“选择模型文件夹…”并选择一个按 Hugging Face Hub 发布格式存放的模型文件夹。</translation>
    </message>
    <message>
        <source>No model tags new files: choose one in Tagging ▸ Models… or File ▸ Settings… ▸ Models.</source>
        <translation>没有模型标注新文件：请在 标注 ▸ 模型… 或 文件 ▸ 设置… ▸ 模型 中选择一个。</translation>
    </message>
    <message>
        <source>The model folder {folder} does not exist: choose one with Tagging ▸ Models…</source>
        <translation>模型文件夹 {folder} 不存在：请通过 标注 ▸ 模型… 选择一个。</translation>
    </message>
    <message>
        <source>The model path {folder} is not a folder: choose one with Tagging ▸ Models…</source>
        <translation>模型路径 {folder} 不是文件夹：请通过 标注 ▸ 模型… 选择一个。</translation>
    </message>
    <message>
        <source>The model folder {folder} holds no tagger this app knows: choose a folder as published on the Hugging Face Hub (Tagging ▸ Models…).</source>
        <translation>模型文件夹 {folder} 中没有本应用认识的标注模型：请选择按 Hugging Face Hub 发布格式存放的文件夹（标注 ▸ 模型…）。</translation>
    </message>
    <message>
        <source>File ▸ Settings… ▸ Device is “cuda”, but PyTorch sees no CUDA GPU here (choose “auto” or “cpu” there).</source>
        <translation>文件 ▸ 设置… ▸ 设备 为“cuda”，但 PyTorch 在此找不到 CUDA GPU（请在那里选择“auto”或“cpu”）。</translation>
    </message>
    <message>
        <source>Tagging failed: {error} (details in View ▸ Log)</source>
        <translation>标注失败：{error}（详情见 视图 ▸ 日志）</translation>
    </message>
    <message>
        <source>The metadata could not be written after tagging: {error}</source>
        <translation>标注后无法写入元数据：{error}</translation>
    </message>
    <message>
        <source>Unexpected error: {error} (details in {log})</source>
        <translation>意外错误：{error}（详情见 {log}）</translation>
    </message>
    <message>
        <source>Unexpected error: {error}</source>
        <translation>意外错误：{error}</translation>
    </message>
    <message>
        <source>The disk holding the library database is full; nothing was changed: free some space.</source>
        <translation>存放图库数据库的磁盘已满；没有任何改动：请释放一些空间。</translation>
    </message>
    <message>
        <source>The library database is read-only: check the permissions of the file and its folder, or choose a library you can write in File ▸ Settings… ▸ Database; nothing was changed.</source>
        <translation>图库数据库为只读：请检查该文件及其文件夹的权限，或在 文件 ▸ 设置… ▸ 数据库 中选择一个可写的图库；没有任何改动。</translation>
    </message>
    <message>
        <source>The library database cannot be opened: its folder is missing or not writable.</source>
        <translation>无法打开图库数据库：其文件夹不存在或不可写。</translation>
    </message>
    <message>
        <source>The disk reported an I/O error while writing the library database; nothing was changed.</source>
        <translation>写入图库数据库时磁盘报告了 I/O 错误；没有任何改动。</translation>
    </message>
    <message>
        <source>The library database is damaged: keep a copy of it (with its -wal file), then restore a backup or recover it (see “Backup and recovery” in the README).</source>
        <translation>图库数据库已损坏：请先保留一份副本（连同其 -wal 文件），然后恢复备份或修复它（见 README 中的“Backup and recovery”）。</translation>
    </message>
    <message>
        <source>{where}the disk is full; nothing was lost: free some space.</source>
        <translation>{where}磁盘已满；没有丢失任何内容：请释放一些空间。</translation>
    </message>
    <message>
        <source>Not enough memory for this operation.</source>
        <translation>内存不足，无法完成此操作。</translation>
    </message>
    <message>
        <source>Press “Download JoyTag”, or press “Choose model folder…” and pick</source>
        <translation>点击“下载 JoyTag”，或点击“选择模型文件夹…”并选择</translation>
    </message>
    <message>
        <source>press “Choose model folder…” and pick</source>
        <translation>点击“选择模型文件夹…”并选择</translation>
    </message>
    <message>
        <source>choose their folder with “Choose model folder…” (or File ▸ Settings… ▸ Model folder).</source>
        <translation>用“选择模型文件夹…”选择其所在文件夹（或 文件 ▸ 设置… ▸ 模型文件夹）。</translation>
    </message>
    <message>
        <source>File ▸ Settings… ▸ Device is “cuda”, but \1 (choose “auto” or “cpu” there)</source>
        <translation>文件 ▸ 设置… ▸ 设备为“cuda”，但 \1（请在那里选择“auto”或“cpu”）</translation>
    </message>
    <message>
        <source> (left as it is)</source>
        <translation>（保持原样）</translation>
    </message>
    <message>
        <source>tagged</source>
        <comment>image status</comment>
        <translation>已标注</translation>
    </message>
    <message>
        <source>waiting to be tagged</source>
        <comment>image status</comment>
        <translation>等待标注</translation>
    </message>
    <message>
        <source>could not be tagged</source>
        <comment>image status</comment>
        <translation>无法标注</translation>
    </message>
    <message>
        <source>missing</source>
        <comment>image status</comment>
        <translation>缺失</translation>
    </message>
</context>
<context>
    <name>presets</name>
    <message>
        <source>High precision</source>
        <translation>高精确率</translation>
    </message>
    <message>
        <source>Balanced</source>
        <translation>均衡</translation>
    </message>
    <message>
        <source>High recall</source>
        <translation>高召回率</translation>
    </message>
    <message>
        <source>Custom</source>
        <translation>自定义</translation>
    </message>
</context>
<context>
    <name>ratings</name>
    <message>
        <source>General</source>
        <comment>content rating: all ages</comment>
        <translation>全年龄</translation>
    </message>
    <message>
        <source>Sensitive</source>
        <comment>content rating</comment>
        <translation>敏感</translation>
    </message>
    <message>
        <source>Questionable</source>
        <comment>content rating</comment>
        <translation>可疑</translation>
    </message>
    <message>
        <source>Explicit</source>
        <comment>content rating</comment>
        <translation>露骨</translation>
    </message>
</context>
<context>
    <name>undo</name>
    <message>
        <source>{edit} (stopped after {done} of {total})</source>
        <translation>{edit}（在 {done} / {total} 处停止）</translation>
    </message>
    <message>
        <source>Undo {edit}</source>
        <translation>撤销 {edit}</translation>
    </message>
</context>
</TS>
