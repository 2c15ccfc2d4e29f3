var b,He,Tt,L,de,oe,Oe,te,Ue,pe,_e,Et,J=Symbol.for("pv"),se={},re=[],Ct=/^m(i|n|o|s|text|space)$/,fe=Array.isArray,he=re.slice,q=Object.assign;function U(e){e&&e.parentNode&&e.remove()}function me(e,t,n){var o,i,s,r={},a=arguments.length;for(s in t)s=="key"?o=t[s]:s=="ref"&&typeof e!="function"?i=t[s]:r[s]=t[s];return a>2&&(r.children=a>3?he.call(arguments,2):n),W(e,r,o,i,null)}function W(e,t,n,o,i){var s={type:e,props:t,key:n,ref:o,__k:null,__:null,__b:0,__e:null,__c:null,constructor:J,__v:i||++He,__i:-1,__u:0};return!i&&b.vnode&&b.vnode(s),s}function ie(e){return e.children}function G(e,t){this.props=e,this.context=t,this.__g=0}function M(e,t){if(t==null)return e.__&&M(e.__,e.__i+1);for(var n;t<e.__k.length;t++)if((n=e.__k[t])&&n.__e)return n.__e;return typeof e.type!="function"||e.props.__P?null:M(e)}function Pt(e){var t,n=e.__v,o=n.__e,i=[],s=[],r=e.__P;r&&((t=q({constructor:J},n)).__v=n.__v+1,b.vnode&&b.vnode(t),ge(r,t,n,e.__n,r.namespaceURI,32&n.__u?[o]:null,i,o||M(n),32&n.__u,s),t.__v=n.__v,t.__.__k[t.__i]=t,We(i,t,s),n.__=n.__e=null,t.__e!=o&&qe(t))}function qe(e){if((e=e.__)&&e.__c&&!e.props.__P)return e.__e=null,e.__k.some(function(t){return t&&(e.__e=t.__e)}),qe(e)}function Le(e){(8&e.__g||(e.__g|=8,L.push(e),oe++))&&de==b.debounceRendering||((de=b.debounceRendering)||queueMicrotask)(Be)}function Be(){try{for(var e,t=1;L.length;)L.length>t&&L.sort(Oe),e=L.shift(),t=L.length,8&e.__g&&Pt(e)}finally{(oe=L.length)&&(de||queueMicrotask)(Be)}}function Fe(e,t,n,o,i,s,r,a,d,_,u){var h,f,l,c,g,m,$=o.__k||re,y=t.length;for(d=Rt(n,t,$,d,y),h=0;h<y;h++)(l=n.__k[h])!=null&&(f=~l.__i&&$[l.__i]||se,l.__i=h,m=ge(e,l,f,i,s,r,a,d,_,u),c=l.__e,(f.ref!=l.ref||8&f.__u)&&(f.ref&&$e(f.ref,null,l,f),l.ref&&u.push(l.ref,l.__c||c,l)),g=g||c,4&l.__u?(d=Ve(l,d,e,!f.__v),f.__e&&(f.__e=null)):typeof l.type=="function"&&m!==void 0?d=m:c&&(d=c.nextSibling),l.__u&=-21);return n.__e=g,d}function Rt(e,t,n,o,i){var s,r,a,d,_,u,h,f,l,c=n.length,g=c,m=0,$=0,y=e.__k=Array(i);for(s=0;s<i;s++)(r=t[s])!=null&&typeof r!="boolean"&&typeof r!="function"?(typeof r!="object"||r.constructor===String?r=y[s]=W(null,r):fe(r)?r=y[s]=W(ie,{children:r}):r.constructor===J&&r.__b?r=y[s]=W(r.type,r.props,r.key,r.ref,r.__v):y[s]=r,d=s+m,r.__=e,r.__b=e.__b+1,a=null,~(_=r.__i=Nt(r,n,d,g))&&(g--,(a=n[_])&&(a.__u|=2)),a&&a.__v?(r.__u|=16,_==d-1?m--:_==d+1?m++:_!=d&&(_>d?m--:m++,$=1)):(~_||(i>c?m--:i<c&&m++),typeof r.type!="function"&&(r.__u|=4))):y[s]=null;if($){for(u=[],h=[],s=0;s<i;s++)if((r=y[s])&&16&r.__u){for(m=0,f=u.length;m<f;)u[l=m+f>>1]<r.__i?m=l+1:f=l;u[m]=r.__i,h[s]=m+1}for(m=u.length;s--;)h[s]&&(h[s]==m?m--:y[s].__u|=4)}if(g)for(s=0;s<c;s++)!(a=n[s])||2&a.__u||(a.__e==o&&(o=M(a)),ve(a,a));return o}function Ve(e,t,n,o){var i,s,r,a;if(typeof e.type=="function"){if(e.props.__P)return t;if(i=e.__k)for(s=0;s<i.length;s++)i[s]&&(i[s].__=e,t=Ve(i[s],t,n,!1));return t}for(t&&!t.parentNode&&(t=M(e))&&!t.parentNode&&(t=null),r=e.__e,a=t;a&&a.nodeType==8;)a=a.nextSibling;for(r!=a&&(!o&&n.moveBefore&&r.parentNode?n.moveBefore(r,t):n.insertBefore(r,t||null)),t=r;(t=t&&t.nextSibling)&&t.nodeType==8&&!t.data.startsWith("$s"););return t}function Nt(e,t,n,o){var i,s=e.key,r=e.type,a=t[n],d=a&&!(2&a.__u);if(a===null&&s==null||d&&s==a.key&&r==a.type)return n;if(o>(d?1:0)){for(i=n-1;i>=0;i--)if((a=t[i])&&!(2&a.__u)&&s==a.key&&r==a.type)return i;for(i=n+1;i<t.length;i++)if((a=t[i])&&!(2&a.__u)&&s==a.key&&r==a.type)return i}return-1}function Me(e,t,n){n==null&&(n=""),t[0]=="-"?e.setProperty(t,n):e[t]=n}function ee(e,t,n,o,i){var s,r;if(t=="style")if(typeof n=="string")e.style.cssText=n;else{if(typeof o=="string"&&(e.style.cssText=o=""),o)for(t in o)n&&t in n||Me(e.style,t);if(n)for(t in n)o&&n[t]==o[t]||Me(e.style,t,n[t])}else if(t[0]=="o"&&t[1]=="n")typeof n!="function"&&(n=null),typeof o!="function"&&(o=null),(e.__e||(e.__e={}))[t]=n,n&&o||(r=_e[t]||(_e[t]=Dt(t)),(e.__a||(e.__a={}))[t]=pe,s=t!=(t=t.replace(Ue,"$1")),(t=t.slice(2))[0]<"a"&&(t=t.toLowerCase()),n?e.addEventListener(t,r,s):e.removeEventListener(t,r,s));else{if(i=="http://www.w3.org/2000/svg")t=t.replace(/xlink(H|:h)/,"h").replace(/sName$/,"s");else if(t!="width"&&t!="height"&&t!="href"&&t!="list"&&t!="form"&&t!="tabIndex"&&t!="download"&&t!="rowSpan"&&t!="colSpan"&&t!="role"&&t!="popover"&&t in e)try{return void(e[t]=n??"")}catch{}if(typeof n=="function")return;n==null||n===!1&&t[4]!="-"?e.removeAttribute(t):e.setAttribute(t,t=="popover"&&n==1?"":n)}}function Dt(e){return function(t){var n=this.__e;if(n){if(n=n[e],t[te]==null)t[te]=pe++;else if(t[te]<this.__a[e])return;return n(b.event?b.event(t):t)}}}function ge(e,t,n,o,i,s,r,a,d,_){var u,h,f,l,c,g,m,$,y,k,w,F,Ie,Z,H,Ae,A,O,D=t.type;if(t.constructor!==J)return null;128&n.__u&&(d=32&n.__u,u=n.__c.__z)&&(t.__u|=d,h=s=[],u.nodeType==8?a=ne(u,s):s.push(u),a=s[0]||a),(u=b.__b)&&u(t);e:if(typeof D=="function"){f=r.length;try{if($=t.props,y=(u=D.prototype)&&u.render,k=(u=D.contextType)&&o[u.__c],w=u?k?k.props.value:u.__:o,(l=n.__c)?(t.__c=l,2&l.__g&&(l.__g|=1)):(y?t.__c=l=new D($,w):(t.__c=l=new G($,w),l.constructor=D,l.render=At),k&&k.sub(l),l.state||(l.state={}),l.__n=o,l.__g|=8,l.__h=[],l.__k=[]),y&&(l.__s||(l.__s=l.state),D.getDerivedStateFromProps&&(l.__s==l.state&&(l.__s=q({},l.__s)),q(l.__s,D.getDerivedStateFromProps($,l.__s)))),c=l.props,g=l.state,l.__v=t,n.__c){if($!==c&&y&&!D.getDerivedStateFromProps&&l.componentWillReceiveProps&&l.componentWillReceiveProps($,w),t.__v==n.__v&&!(8&l.__g)||!(4&l.__g)&&l.shouldComponentUpdate&&l.shouldComponentUpdate($,l.__s,w)===!1){t.__v!=n.__v&&(l.props=$,l.state=l.__s,l.__g&=-9),t.__e=n.__e,t.__k=n.__k,t.__k.some(function(C){C&&(C.__=t)}),re.push.apply(l.__h,l.__k),l.__k=[],l.__h.length&&r.push(l),a=M(n);break e}l.componentWillUpdate&&l.componentWillUpdate($,l.__s,w),y&&l.componentDidUpdate&&l.__h.push(function(){l.componentDidUpdate(c,g,m)})}else y&&!D.getDerivedStateFromProps&&l.componentWillMount&&l.componentWillMount(),y&&l.componentDidMount&&l.__h.push(l.componentDidMount);l.context=w,l.props=$,l.__P=e,l.__g&=-5,F=b.__r,Ie=y?25:0;do l.__g&=-9,F&&F(t),u=l.render(l.props,l.state=l.__s,l.context);while(8&l.__g&&++Ie<25);y&&(re.push.apply(l.__h,l.__k),l.__k=[]),l.state=l.__s,l.getChildContext&&(o=q({},o,l.getChildContext())),y&&n.__c&&l.getSnapshotBeforeUpdate&&(m=l.getSnapshotBeforeUpdate(c,g)),Z=u&&u.type===ie&&u.key==null?u.props.children:u,$.__P&&(u=a,i=(e=$.__P).namespaceURI,d=s=null,n.props&&n.props.__P!=e&&(n.__k.some(function(C){C&&ve(C,C)}),n.__k=null),a=n.__k?M(n,0):null),a=Fe(e,fe(Z)?Z:[Z],t,n,o,i,s,r,a,d,_),$.__P&&(t.__e=null,a=u),t.__u&=-161,h&&h.some(U),l.__h.length&&r.push(l),1&l.__g&&(l.__g&=-4)}catch(C){if(r.length=f,t.__v=null,d||s)if(C&&C.then){if(t.__u|=128|d,s){for(~(A=s.indexOf(a||void 0))||(A=s.length);(O=s[A-1])&&O.nodeType==8;)A--;for(;A<s.length;A++)if(O=s[A])if(s[A]=null,H){if(O==Ae)break}else{if(O.nodeType!=8)break;O.data.startsWith("$s")&&(Ae=ne(H=O))}}if(!H){for(;a&&a.nodeType==8&&a.nextSibling;)a=a.nextSibling;H=a}(u=ne(H=t.__c.__z||(t.__c.__z=H)))?(t.__e=H,a=u):t.__e=a,a=a&&a.nextSibling}else s&&s.some(U);else t.__e=n.__e;t.__k||(t.__k=n.__k||[]),C&&C.then||je(t),b.__e(C,t,n)}}else a=t.__e=It(n.__e,t,n,o,i,s,r,d,_,e);return(u=b.diffed)&&u(t),a}function ne(e,t){if(e&&e.nodeType==8&&e.data.startsWith("$s"))for(var n=1;e=e.nextSibling;){if(e.nodeType==8){if(e.data.startsWith("$s"))n++;else if(e.data.startsWith("/$s")&&!--n)return e}t&&t.push(e)}}function je(e){e&&(e.__c&&(e.__c.__g|=4),e.__k&&e.__k.some(je))}function We(e,t,n){for(var o=0;o<n.length;)$e(n[o++],n[o++],n[o++]);b.__c&&b.__c(t,e),e.some(function(i){try{e=i.__h,i.__h=[],e.some(function(s){s.call(i)})}catch(s){b.__e(s,i.__v)}})}function It(e,t,n,o,i,s,r,a,d,_){var u,h,f,l,c,g,m,$,y=n.props||se,k=t.props,w=t.type;if(w=="svg"?i="http://www.w3.org/2000/svg":w=="math"?i="http://www.w3.org/1998/Math/MathML":i||(i="http://www.w3.org/1999/xhtml"),s){for(u=0;u<s.length;u++)if((c=s[u])&&(w?c.localName==w:c.nodeType==3)){e=c,s[u]=null;break}}if(!e){if($=_.ownerDocument||document,!w)return $.createTextNode(k);e=$.createElementNS(i,w,k.is?k:_),a&&(b.__m&&b.__m(t,s),a=!1),s=null}if(w){if(_=w=="template"&&e.content||e,s=w=="textarea"&&k.defaultValue!=null?null:s&&he.call(_.childNodes),!a&&s)for(y={},u=0;u<e.attributes.length;u++)y[(c=e.attributes[u]).name]=c.value;for(u in y)c=y[u],u=="dangerouslySetInnerHTML"?f=c:u=="children"||u in k||u=="value"&&"defaultValue"in k||u=="checked"&&"defaultChecked"in k||ee(e,u,null,c,i);for(u in k)c=k[u],u=="children"?l=c:u=="dangerouslySetInnerHTML"?h=c:u=="value"?g=c:u=="checked"?m=c:a&&typeof c!="function"||y[u]===c||ee(e,u,c,y[u],i);h?(a||f&&(h.__html==f.__html||h.__html==e.innerHTML)||(e.innerHTML=h.__html),t.__k=[]):(f&&(e.textContent=""),(w=="foreignObject"||i=="http://www.w3.org/1998/Math/MathML"&&Ct.test(w))&&(i="http://www.w3.org/1999/xhtml"),Fe(_,fe(l)?l:[l],t,n,o,i,s,r,s?s[0]:n.__k&&M(n,0),a,d),s&&s.some(U)),a&&w!="textarea"||(u="value",w=="progress"&&g==null?e.removeAttribute(u):g==null||g===e[u]&&(w!="progress"||g)||ee(e,u,g,y[u],i),u="checked",m!=null&&m!=e[u]&&ee(e,u,m,y[u],i))}else y===k||a&&e.data==k||(e.data=k);return e}function $e(e,t,n,o){try{typeof e=="function"?t?t.__x=e(t)||1:o&&(o=o.__c||o.__e)&&(t=o.__x)&&(o.__x=null,typeof t=="function"?t():e(null)):e.current=t}catch(i){b.__e(i,n)}}function ve(e,t,n){var o,i,s,r;if(b.unmount&&b.unmount(e),!(o=e.ref)||o.current&&o.current!=e.__e||$e(o,null,t,e),o=e.__c){if(o.componentWillUnmount)try{o.componentWillUnmount()}catch(a){b.__e(a,t)}o.__P=o.__n=null}if(o=e.__k)for(r=0;r<o.length;r++)o[r]&&ve(o[r],t,typeof e.type!="function"||n&&!e.props.__P);!n&&(o=e.__c)&&(o=o.__z)&&(i=ne(o,s=[]))&&(o==e.__e&&s.some(U),U(i),U(o)),n||U(e.__e),e.__e=e.__c=e.__=null}function At(e,t,n){return this.constructor(e,n)}function ye(e,t){var n,o,i,s;b.__&&b.__(e,t),t.nodeType==9&&(t=t.documentElement),o=(n=e&&32&e.__u)?null:t.__k,t.__k=W(ie,{children:[e]}),i=[],s=[],ge(t,t.__k,o||se,se,t.namespaceURI,o?null:t.firstChild?he.call(t.childNodes):null,i,o?o.__e:t.firstChild,n,s),We(i,t.__k,s),t.__k.props.children=null}b={__e:function(e,t,n,o){for(var i,s,r;t=t.__;)if((i=t.__c)&&!(1&i.__g)){i.__g|=4;try{if((r=(s=i.constructor)&&s.getDerivedStateFromError)&&i.setState(s.getDerivedStateFromError(e)),i.componentDidCatch&&(i.componentDidCatch(e,o||{}),r=1),r&&8&i.__g)return void(i.__g|=2)}catch(a){e=a}}throw oe=0,e}},He=0,Tt=function(e){return e!=null&&e.constructor===J},G.prototype.setState=function(e,t){var n=this.__s;n&&n!=this.state||(n=this.__s=q({},this.state)),typeof e=="function"&&(e=e(q({},n),this.props)),e&&(q(n,e),this.__v&&(t&&this.__k.push(t),Le(this)))},G.prototype.forceUpdate=function(e){this.__v&&(this.__g|=4,e&&this.__h.push(e),Le(this))},G.prototype.render=ie,L=[],oe=0,Oe=function(e,t){return e.__v.__b-t.__v.__b},te=Symbol(),Ue=/(PointerCapture)$|Capture$/i,pe=0,_e={},Et=0;var Je=function(e,t,n,o){var i;t[0]=0;for(var s=1;s<t.length;s++){var r=t[s++],a=t[s]?(t[0]|=r?1:2,n[t[s++]]):t[++s];r===3?o[0]=a:r===4?o[1]=Object.assign(o[1]||{},a):r===5?(o[1]=o[1]||{})[t[++s]]=a:r===6?o[1][t[++s]]+=a+"":r?(i=e.apply(a,Je(e,a,n,["",null])),o.push(i),a[0]?t[0]|=2:(t[s-2]=0,t[s]=i)):o.push(a)}return o},Ge=new Map;function ze(e){var t=Ge.get(this);return t||(t=new Map,Ge.set(this,t)),(t=Je(this,t.get(e)||(t.set(e,t=(function(n){for(var o,i,s=1,r="",a="",d=[0],_=function(f){s===1&&(f||(r=r.replace(/^\s*\n\s*|\s*\n\s*$/g,"")))?d.push(0,f,r):s===3&&(f||r)?(d.push(3,f,r),s=2):s===2&&r==="..."&&f?d.push(4,f,0):s===2&&r&&!f?d.push(5,0,!0,r):s>=5&&((r||!f&&s===5)&&(d.push(s,0,r,i),s=6),f&&(d.push(s,f,0,i),s=6)),r=""},u=0;u<n.length;u++){u&&(s===1&&_(),_(u));for(var h=0;h<n[u].length;h++)o=n[u][h],s===1?o==="<"?(_(),d=[d],s=3):r+=o:s===4?r==="--"&&o===">"?(s=1,r=""):r=o+r[0]:a?o===a?a="":r+=o:o==='"'||o==="'"?a=o:o===">"?(_(),s=1):s&&(o==="="?(s=5,i=r,r=""):o==="/"&&(s<5||n[u][h+1]===">")?(_(),s===3&&(d=d[0]),s=d,(d=d[0]).push(2,0,s),s=0):o===" "||o==="	"||o===`
`||o==="\r"?(_(),s=2):r+=o),s===3&&r==="!--"&&(s=4,d=d[0])}return _(),d})(e)),t),arguments,[])).length>1?t:t[0]}var p=ze.bind(me);var K,S,be,Ke,we=Object.is,ae=0,st=[],ke=[],x=b,Qe=x.__b,Ye=x.__r,Xe=x.diffed,Ze=x.__c,et=x.unmount,tt=x.__;function Se(e,t){x.__h&&x.__h(S,e,ae||t),ae=0;var n=S.__H||(S.__H={__:[],__h:[]});return e>=n.__.length&&n.__.push({}),n.__[e]}function v(e){return ae=1,Lt(at,e)}function Lt(e,t,n){var o=Se(K++,2);if(o.t=e,!o.__c&&(o.__=[n?n(t):at(void 0,t),function(s){var r=(o.__N||o.__)[0],a=o.t(r,s);we(r,a)||(o.__N=[a,o.__[1]],o.__c.setState({}))}],o.__c=S,!S.__f)){S.__f=!0;var i=S.shouldComponentUpdate;S.shouldComponentUpdate=function(s,r,a){var d=this.__H;if(!d)return!0;var _=!1,u=this.props!=s;if(d.__.some(function(f){f.__N&&(_=!0,we(f.__[0],f.__N[0])||(u=!0))}),i){var h=i.call(this,s,r,a);return _?h||u:h}return!_||u}}return o.__}function P(e,t){var n=Se(K++,3);!x.__s&&it(n.__H,t)&&(n.__P=!0,n.__=e,n.u=t,S.__H.__h.push(n))}function rt(e){return ae=5,Mt(function(){return{current:e}},[])}function Mt(e,t){var n=Se(K++,7);return it(n.__H,t)&&(n.__=e(),n.__H=t),n.__}function Ht(){var e;do{for(;e=ke.shift();)try{z(e)}catch(n){x.__e(n,{__:(e=e.__P)&&e.__v})}for(;e=st.shift();){var t=e.__H;if(e.__P&&t)try{t.__h.some(z),t.__h.some(xe),t.__h=[]}catch(n){t.__h=[],x.__e(n,e.__v)}}}while(ke.length)}x.__b=function(e){S=null,Qe&&Qe(e)},x.__=function(e,t){e&&t.__k&&t.__k.__m&&(e.__m=t.__k.__m),tt&&tt(e,t)},x.__r=function(e){Ye&&Ye(e),K=0;var t=(S=e.__c).__H;t&&(be==S?S.__h=[]:(t.__h.some(z),t.__h.some(xe),K=0),t.__h=[],t.__.some(function(n){n.__N&&(n.__=n.__N),n.u=n.__N=void 0})),be=S},x.diffed=function(e){Xe&&Xe(e);var t=e.__c;t&&t.__H&&(t.__H.__h.length&&ot(st.push(t)),t.__H.__.some(function(n){n.u&&(n.__H=n.u)})),be=S=null},x.__c=function(e,t){t.some(function(n){try{n.__h.some(z),n.__h=n.__h.filter(function(o){return!o.__||xe(o)})}catch(o){n.__h=[function(){throw o}]}}),Ze&&Ze(e,t)},x.unmount=function(e){et&&et(e);var t,n,o=e.__c;o&&o.__H&&(o.__H.__.some(function(i){try{if(i.__P&&i.__c){if(n===void 0){for(n=e.__;n&&(!n.__c||!n.__c.__P);)n=n.__;n=n&&n.__c}i.__P=n,ot(ke.push(i))}else z(i)}catch(s){t=s}}),o.__H=void 0,t&&x.__e(t,o.__v))};var nt=typeof requestAnimationFrame=="function";function Ot(e){var t,n=function(){clearTimeout(o),nt&&cancelAnimationFrame(t),setTimeout(e)},o=setTimeout(n,35);nt&&(t=requestAnimationFrame(n))}function ot(e){e!=1&&Ke==x.requestAnimationFrame||((Ke=x.requestAnimationFrame)||Ot)(Ht)}function z(e){var t=S,n=e.__c;typeof n=="function"&&(e.__c=void 0,n()),S=t}function xe(e){var t=S;e.__c=e.__(),S=t}function it(e,t){return!e||e.length!=t.length||t.some(function(n,o){return!we(n,e[o])})}function at(e,t){return typeof t=="function"?t(e):t}var Te="datamesh.token",ue="datamesh:unauthorized",Ee="datamesh.admin";function Ce(){let e=sessionStorage.getItem(Te);return e===null?null:{token:e,admin:sessionStorage.getItem(Ee)==="true"}}function ce(e){e?(sessionStorage.setItem(Te,e.token),sessionStorage.setItem(Ee,String(e.admin))):(sessionStorage.removeItem(Te),sessionStorage.removeItem(Ee))}var le=class extends Error{code;status;details;constructor(t,n,o,i){super(o),this.status=t,this.code=n,this.details=i}};function lt(e={}){let t=Ce()?.token;return{accept:"application/json",...t?{authorization:`Bearer ${t}`}:{},...e}}async function ut(e,t,n){let o=await fetch(t,{method:e,headers:lt(n===void 0?{}:{"content-type":"application/json"}),...n===void 0?{}:{body:JSON.stringify(n)}}),i=await o.text(),s=i===""?null:JSON.parse(i);if(!o.ok){let r=s??{};throw ct(new le(o.status,r.code??`HTTP_${o.status}`,r.message??o.statusText,r.details??{}))}return s}function ct(e){return e.status===401&&dispatchEvent(new CustomEvent(ue,{detail:e})),e}var V=e=>ut("GET",e),Q=(e,t)=>ut("POST",e,t);async function dt(e,t,n,o,i){let s=await fetch(e,{headers:lt({accept:"text/event-stream"}),signal:t});if(!s.ok||!s.body){let d=await s.json().catch(()=>({}));throw ct(new le(s.status,d.code??`HTTP_${s.status}`,d.message??s.statusText,d.details??{}))}i===void 0&&o?.();let r=s.body.pipeThrough(new TextDecoderStream).getReader(),a="";try{for(;;){let{done:d,value:_}=await r.read();if(d)return;a+=_;let u;for(;(u=a.indexOf(`

`))>=0;){let h=a.slice(0,u);a=a.slice(u+2),i!==void 0&&h.split(`
`).includes(`: ${i}`)&&o?.();let f=Ut(h);f&&n(f)}}}catch(d){if(!t.aborted)throw d}}function Ut(e){let t,n="message",o=[];for(let i of e.split(`
`)){if(i===""||i.startsWith(":"))continue;let s=i.indexOf(":"),r=s<0?i:i.slice(0,s),a=s<0?"":i.slice(s+1).replace(/^ /,"");r==="id"?t=a:r==="event"?n=a:r==="data"&&o.push(a)}return o.length===0?null:{id:t,event:n,data:JSON.parse(o.join(`
`))}}var qt=new Set(["streaming","ready","Stable","running"]),Bt=new Set(["failed","Dead","stopped"]);function I({state:e}){let t=e??"unknown",n=qt.has(t)?"good":Bt.has(t)?"bad":"busy";return p`<span class=${`badge ${n}`} data-state=${t}>${t}</span>`}function j({value:e}){if(e===null)return p`<span class="muted">—</span>`;let t=Math.max(0,Math.min(100,Math.round(e*100)));return p`<span class="progress" title=${`${t}%`}><span style=${`width:${t}%`}></span></span>
    <span class="muted">${t}%</span>`}function T({error:e}){if(!e)return null;let t=e,n=t.status===403?"This token is not allowed to do this. ":"";return p`<div class="error" role="alert" data-status=${t.status??""}>
    ${t.code?p`<strong>${t.code}</strong> `:null}${n}${t.message??JSON.stringify(e)}
  </div>`}function E({title:e,children:t}){return p`<div class="heading">
    <h1>${e}</h1>
    <div class="actions">${t}</div>
  </div>`}function R(e,t=3e3){let[n,o]=v(null),[i,s]=v(null),[r,a]=v(0);return P(()=>{if(e===null)return;let d=!0,_=()=>{V(e).then(h=>{d&&(o(h),s(null))},h=>d&&s(h))};_();let u=t>0?setInterval(_,t):void 0;return()=>{d=!1,u&&clearInterval(u)}},[e,t,r]),{data:n,error:i,reload:()=>a(d=>d+1)}}function Pe(e){return e==null?"\u2014":e<1?`${Math.round(e*1e3)} ms`:e<120?`${e.toFixed(1)} s`:`${Math.round(e/60)} min`}function Re(e){return e==null?"\u2014":e<1024?`${e} B`:e<1024*1024?`${(e/1024).toFixed(1)} KiB`:`${(e/1024/1024).toFixed(1)} MiB`}function B(e){return e==null?"\u2014":e.toLocaleString("en")}var N=e=>`#${e}`,Y=e=>JSON.stringify(e,null,2);var Ft=50;function Vt(e,t){let n=new URLSearchParams({limit:String(Ft)});for(let[o,i]of Object.entries(e))i.trim()!==""&&n.set(o,i.trim());return t&&n.set("cursor",t),`/v1/audit?${n.toString()}`}function jt(e){return e.kind==="anonymous"?"no valid token":e.kind==="service"?`${e.service??"?"} (token ${e.principal??"?"})`:e.principal??e.kind}function Wt(e){return[e.code,e.scope&&`scope ${e.scope}`,e.policy&&`policy ${e.policy}`,e.reason].filter(Boolean).join(" \xB7 ")}function _t(){let[e,t]=v({outcome:"",service:"",action:"",resource:""}),[n,o]=v(e),[i,s]=v([]),[r,a]=v(null),[d,_]=v(null),[u,h]=v(!1),f=c=>{h(!0),V(Vt(n,c)).then(g=>{s(m=>c?[...m,...g.entries]:g.entries),a(g.next),_(null),h(!1)},g=>{_(g),h(!1)})};P(()=>f(null),[n]);let l=(c,g)=>p`<label
      >${g}
      <input
        name=${c}
        value=${e[c]}
        onInput=${m=>t({...e,[c]:m.target.value})}
    /></label>`;return p`<section>
    <${E} title="Audit"><button class="link" onClick=${()=>f(null)}>Refresh</button><//>
    <p class="muted">
      Every change to sources, views, event types, tokens and policies, and every refused request, on every
      server.
    </p>
    <form
      class="filters"
      data-testid="audit-filters"
      onSubmit=${c=>{c.preventDefault(),o(e)}}
    >
      <label
        >Outcome
        <select
          name="outcome"
          value=${e.outcome}
          onChange=${c=>t({...e,outcome:c.target.value})}
        >
          <option value="">any</option>
          <option value="success">success</option>
          <option value="failure">failure</option>
          <option value="denied">denied</option>
        </select></label
      >
      ${l("service","Service")} ${l("action","Action")} ${l("resource","Resource")}
      <button type="submit">Filter</button>
    </form>
    <${T} error=${d} />
    <table class="grid" data-testid="audit">
      <thead>
        <tr>
          <th>When</th>
          <th>Server</th>
          <th>Who</th>
          <th>Action</th>
          <th>Resource</th>
          <th>Request</th>
          <th>Outcome</th>
          <th>Why</th>
          <th>Request id</th>
        </tr>
      </thead>
      <tbody>
        ${i.map(c=>p`<tr key=${c.id} data-outcome=${c.outcome} data-action=${c.action}>
              <td>${new Date(c.at).toLocaleString()}</td>
              <td>${c.server}</td>
              <td>${jt(c)}</td>
              <td>${c.action}</td>
              <td>${c.resource??"\u2014"}</td>
              <td><code>${c.method} ${c.route}</code></td>
              <td>
                <span class=${`badge ${c.outcome==="success"?"good":"bad"}`}
                  >${c.outcome} ${c.status}</span
                >
              </td>
              <td>${Wt(c)||"\u2014"}</td>
              <td><code>${c.requestId}</code></td>
            </tr>`)}
        ${!u&&!d&&i.length===0?p`<tr>
                <td colspan="9" class="muted">No entry matches.</td>
              </tr>`:null}
      </tbody>
    </table>
    ${r?p`<button onClick=${()=>f(r)} disabled=${u}>Older</button>`:null}
  </section>`}var pt={source:0,table:1,topic:2,view:3};function ft(e,t){let n=new Map;for(let _ of e)_.kind in pt&&n.set(_.id,pt[_.kind]);for(let _=0;_<e.length;_++){let u=!1;for(let h of t){let f=n.get(h.from),l=n.get(h.to);f!==void 0&&l!==void 0&&h.to.startsWith("view:")&&l<=f&&(n.set(h.to,f+1),u=!0)}if(!u)break}let o=Math.max(3,...n.values());for(let _ of e)n.has(_.id)||n.set(_.id,o+1);let i=new Map,s=new Map;for(let _ of e)s.set(n.get(_.id),[...s.get(n.get(_.id))??[],_]);let r=[],a=0;for(let _ of[...s.keys()].sort((u,h)=>u-h)){let u=s.get(_),h=l=>{let c=t.filter(g=>g.to===l.id&&i.has(g.from)).map(g=>i.get(g.from));return c.length===0?1/0:c.reduce((g,m)=>g+m,0)/c.length},f=[...u].sort((l,c)=>h(l)-h(c)||l.name.localeCompare(c.name));f.forEach((l,c)=>{i.set(l.id,c),r.push({...l,x:10+_*260,y:30+c*62})}),a=Math.max(a,30+f.length*62)}let d=20+(Math.max(...n.values(),0)+1)*260;return{placed:r,width:d,height:a+10}}var Gt=["Sources","Tables","Topics","Views"],Jt=new Set(["streaming","ready","Stable"]),zt=new Set(["failed","Dead","stopped"]);function ht(){let{data:e,error:t}=R("/v1/lineage",5e3),[n,o]=v(!1),[i,s]=v(null),r=new Set((e?.nodes??[]).filter(c=>c.kind==="consumer-group"&&c.details.internal===!0&&!n).map(c=>c.id)),a=(e?.nodes??[]).filter(c=>!r.has(c.id)),d=(e?.edges??[]).filter(c=>!r.has(c.from)&&!r.has(c.to)),{placed:_,width:u,height:h}=ft(a,d),f=new Map(_.map(c=>[c.id,c])),l=_.find(c=>c.id===i)??null;return p`<section>
    <${E} title="Lineage">
      <label class="muted"
        ><input type="checkbox" checked=${n} onChange=${()=>o(!n)} /> datamesh's own
        groups</label
      >
    <//>
    <${T} error=${t} />
    ${(e?.problems??[]).map(c=>p`<div class="warning">${c}</div>`)}
    <div class="graph">
      <svg
        data-testid="lineage-graph"
        width=${u}
        height=${Math.max(h,120)}
        viewBox=${`0 0 ${u} ${Math.max(h,120)}`}
        role="img"
        aria-label="lineage graph"
      >
        ${Gt.map((c,g)=>p`<text class="column-title" x=${10+g*260} y="16">${c}</text>`)}
        <text class="column-title" x=${10+4*260} y="16">
          ${_.some(c=>c.x>10+3*260)?"Consumers":""}
        </text>
        ${d.map(c=>{let g=f.get(c.from),m=f.get(c.to);if(!g||!m)return null;let $=g.x+190,y=g.y+46/2,k=m.x,w=m.y+46/2,F=($+k)/2;return p`<path
            class=${`edge ${c.kind}`}
            d=${`M${$},${y} C${F},${y} ${F},${w} ${k},${w}`}
          />`})}
        ${_.map(c=>p`<g
              class=${`node ${c.kind} ${Jt.has(c.state??"")?"good":zt.has(c.state??"")?"bad":""}`}
              data-node=${c.id}
              transform=${`translate(${c.x},${c.y})`}
              onClick=${()=>s(c.id)}
            >
              <rect width=${190} height=${46} rx="6" />
              <text x="8" y="18" class="name"
                >${c.name.length>26?`${c.name.slice(0,25)}\u2026`:c.name}</text
              >
              <text x="8" y="36" class="sub"
                >${c.kind}${c.owner?` \xB7 ${c.owner}`:""}${c.state?` \xB7 ${c.state}`:""}</text
              >
            </g>`)}
      </svg>
    </div>
    ${e&&a.length===0?p`<p class="muted">Nothing registered yet.</p>`:null}
    ${l?p`<div class="panel">
            <h2>${l.kind} ${l.name}</h2>
            <p>Owner: ${l.owner??"\u2014"} · <${I} state=${l.state} /></p>
            <pre>${Y(l.details)}</pre>
          </div>`:null}
  </section>`}var mt=e=>e.progress?e.progress.rowsEstimated>0?e.progress.rowsDone/e.progress.rowsEstimated:0:null;function Kt(e){return` ${e.phase} snapshot${e.table?` of ${e.table}`:""}: ${B(e.rowsDone)} of ~${B(e.rowsEstimated)} rows`}function gt(){let{data:e,error:t}=R("/v1/sources"),n=e?.sources??[];return p`<section>
    <${E} title="Sources"><a class="button" href=${N("/sources/new")}>Register a source</a><//>
    <${T} error=${t} />
    <table class="grid" data-testid="sources">
      <thead>
        <tr>
          <th>Name</th>
          <th>Owner</th>
          <th>Kind</th>
          <th>State</th>
          <th>Snapshot</th>
          <th>Lag</th>
          <th>Tables</th>
        </tr>
      </thead>
      <tbody>
        ${n.map(o=>p`<tr key=${o.name}>
              <td><a href=${N(`/sources/${encodeURIComponent(o.name)}`)}>${o.name}</a></td>
              <td>${o.owner}</td>
              <td>${o.kind}</td>
              <td><${I} state=${o.status.state} /></td>
              <td><${j} value=${mt(o.status)} /></td>
              <td>${Pe(o.status.lagSeconds)} · ${Re(o.status.lagBytes)}</td>
              <td>${o.tables.join(", ")}</td>
            </tr>`)}
        ${e&&n.length===0?p`<tr>
                <td colspan="7" class="muted">No source yet: register one.</td>
              </tr>`:null}
      </tbody>
    </table>
  </section>`}function $t({name:e}){let{data:t,error:n}=R(`/v1/sources/${encodeURIComponent(e)}`);return p`<section>
    <${E} title=${`Source ${e}`} />
    <${T} error=${n} />
    ${t?p`<dl class="facts">
              <dt>Owner</dt>
              <dd>${t.owner}</dd>
              <dt>State</dt>
              <dd><${I} state=${t.status.state} /></dd>
              <dt>Kind</dt>
              <dd>${t.kind} · ${t.delivery}</dd>
              <dt>URL</dt>
              <dd><code>${t.url}</code></dd>
              <dt>Lag</dt>
              <dd>${Pe(t.status.lagSeconds)} · ${Re(t.status.lagBytes)}</dd>
              <dt>Offset</dt>
              <dd><code>${t.status.offset??"\u2014"}</code></dd>
              <dt>Snapshot</dt>
              <dd>
                ${t.status.progress?p`<${j} value=${mt(t.status)} />
                        <span>${Kt(t.status.progress)}</span>`:"none running"}
              </dd>
              <dt>Runs in</dt>
              <dd>${t.status.holder?.url??"\u2014"}</dd>
            </dl>
            <${T} error=${t.status.error} />
            <h2>Tables</h2>
            <table class="grid">
              <thead>
                <tr>
                  <th>Table</th>
                  <th>Topic</th>
                  <th>State</th>
                  <th>Events</th>
                </tr>
              </thead>
              <tbody>
                ${t.tables.map((o,i)=>{let s=t.topics[i]??`${t.name}.${o}`;return p`<tr key=${o}>
                    <td>${o}</td>
                    <td><a href=${N(`/topics/${encodeURIComponent(s)}`)}>${s}</a></td>
                    <td><${I} state=${t.status.tables[o]?.state??t.status.state} /></td>
                    <td>${B(t.status.events[o]??0)}</td>
                  </tr>`})}
              </tbody>
            </table>`:null}
  </section>`}function vt(){let[e,t]=v({name:"",owner:"",kind:"postgres",url:"",tables:"",snapshot:"initial",delivery:"at-least-once"}),[n,o]=v(null),[i,s]=v(!1),r=d=>_=>t({...e,[d]:_.target.value});return p`<section>
    <${E} title="Register a source" />
    <p class="muted">
      The service's database: its tables become topics <code>name.schema.table</code>. The API checks the
      database's settings first and answers each problem with the SQL that fixes it.
    </p>
    <form class="form" onSubmit=${async d=>{d.preventDefault(),s(!0),o(null);try{let _=e.tables.split(/[\s,]+/).filter(u=>u!=="");await Q("/v1/sources",{...e,tables:_}),location.hash=N(`/sources/${encodeURIComponent(e.name)}`)}catch(_){o(_)}finally{s(!1)}}} data-testid="register-source">
      <label
        >Name <input name="name" required value=${e.name} onInput=${r("name")} placeholder="shipping"
      /></label>
      <label
        >Owner (service)
        <input name="owner" required value=${e.owner} onInput=${r("owner")} placeholder="shipping"
      /></label>
      <label
        >Kind
        <select name="kind" value=${e.kind} onChange=${r("kind")}>
          <option value="postgres">PostgreSQL</option>
          <option value="mysql">MySQL / MariaDB</option>
        </select></label
      >
      <label
        >URL
        <input
          name="url"
          required
          value=${e.url}
          onInput=${r("url")}
          placeholder="postgres://user:password@host:5432/db"
      /></label>
      <label
        >Tables
        <input
          name="tables"
          required
          value=${e.tables}
          onInput=${r("tables")}
          placeholder="public.shipments, public.carriers"
      /></label>
      <label
        >Snapshot
        <select name="snapshot" value=${e.snapshot} onChange=${r("snapshot")}>
          <option value="initial">initial: read the tables first</option>
          <option value="never">never: from now on</option>
        </select></label
      >
      <label
        >Delivery
        <select name="delivery" value=${e.delivery} onChange=${r("delivery")}>
          <option value="at-least-once">at-least-once</option>
          <option value="exactly-once">exactly-once</option>
        </select></label
      >
      <${T} error=${n} />
      <button type="submit" disabled=${i}>${i?"Registering\u2026":"Register"}</button>
    </form>
  </section>`}function yt(e,t){let n=e.split(`
`),o=t.split(`
`),i=Array.from({length:n.length+1},()=>new Array(o.length+1).fill(0));for(let d=n.length-1;d>=0;d--)for(let _=o.length-1;_>=0;_--)i[d][_]=n[d]===o[_]?i[d+1][_+1]+1:Math.max(i[d+1][_],i[d][_+1]);let s=[],r=0,a=0;for(;r<n.length&&a<o.length;)n[r]===o[a]?(s.push({op:" ",text:n[r]}),r++,a++):i[r+1][a]>=i[r][a+1]?s.push({op:"-",text:n[r++]}):s.push({op:"+",text:o[a++]});for(;r<n.length;)s.push({op:"-",text:n[r++]});for(;a<o.length;)s.push({op:"+",text:o[a++]});return s}function bt(){let{data:e,error:t}=R("/v1/topics",5e3);return p`<section>
    <${E} title="Topics" />
    <${T} error=${t} />
    <table class="grid" data-testid="topics">
      <thead>
        <tr>
          <th>Topic</th>
          <th>Owner</th>
          <th>Source</th>
          <th>Partitions</th>
          <th>Schema version</th>
        </tr>
      </thead>
      <tbody>
        ${(e?.topics??[]).map(n=>p`<tr key=${n.topic}>
              <td><a href=${N(`/topics/${encodeURIComponent(n.topic)}`)}>${n.topic}</a></td>
              <td>${n.owner}</td>
              <td>${n.source}</td>
              <td>${n.partitions}</td>
              <td>${n.latestVersion??"\u2014"}</td>
            </tr>`)}
      </tbody>
    </table>
  </section>`}function Qt({topic:e}){let{data:t,error:n}=R(`/v1/topics/${encodeURIComponent(e)}/schemas`,0),o=t?.versions??[],[i,s]=v(null),[r,a]=v(null),d=o.find(f=>f.version===i)??o.at(-2)??o.at(-1),_=o.find(f=>f.version===r)??o.at(-1),u=f=>l=>f(Number(l.target.value)),h=f=>o.map(l=>p`<option value=${l.version} selected=${l.version===f}>
          version ${l.version} (id ${l.id})
        </option>`);return p`<div>
    <h2>Schema versions</h2>
    <${T} error=${n} />
    ${o.length===0?p`<p class="muted">No schema registered yet (the first event registers it).</p>`:p`<div class="row">
              <label
                >From
                <select onChange=${u(s)}>
                  ${h(d?.version)}
                </select></label
              >
              <label
                >To
                <select onChange=${u(a)}>
                  ${h(_?.version)}
                </select></label
              >
            </div>
            <pre class="diff" data-testid="schema-diff">
${yt(Y(d?.schema),Y(_?.schema)).map(f=>p`<div class=${f.op==="+"?"add":f.op==="-"?"del":""}>
                    ${f.op} ${f.text}
                  </div>`)}</pre>`}
  </div>`}function De({path:e,render:t,readyComment:n}){let[o,i]=v([]),[s,r]=v("connecting"),[a,d]=v(null);return P(()=>{let _=new AbortController;return i([]),dt(e,_.signal,u=>{u.event==="error"?d(u.data):u.event==="change"&&i(h=>[{id:u.id??"",data:u.data},...h].slice(0,50))},()=>r("live"),n).then(()=>r("ended"),u=>{_.signal.aborted||(d(u),r("failed"))}),()=>_.abort()},[e]),p`<div class="tail" data-testid="live-tail" data-state=${s}>
    <p class="muted">${s==="live"?"Live: new changes appear at the top.":s}</p>
    <${T} error=${a} />
    <ol class="events">
      ${o.map(_=>p`<li key=${_.id}>${t(_.data)}</li>`)}
    </ol>
  </div>`}var Yt={r:"read",c:"insert",u:"update",d:"delete",t:"truncate"};function wt({topic:e}){return p`<section>
    <${E} title=${`Topic ${e}`} />
    <${Qt} topic=${e} />
    <h2>Live tail</h2>
    <${De}
      path=${`/v1/topics/${encodeURIComponent(e)}/events?from=latest`}
      readyComment="subscribed"
      render=${t=>{let n=t,o=n.value?.op??"tombstone";return p`<span class="op">${Yt[o]??o}</span> <code>${n.partition}:${n.offset}</code> key
          <code>${JSON.stringify(n.key)}</code>
          <code class="after">${JSON.stringify(n.value?.after??n.value?.before??null)}</code>`}}
    />
  </section>`}function kt(){let{data:e,error:t}=R("/v1/views");return p`<section>
    <${E} title="Views"><a class="button" href=${N("/views/new")}>Declare a view</a><//>
    <${T} error=${t} />
    <table class="grid" data-testid="views">
      <thead>
        <tr>
          <th>View</th>
          <th>State</th>
          <th>Backfill</th>
          <th>Rows</th>
          <th>Lag</th>
          <th>Parked</th>
        </tr>
      </thead>
      <tbody>
        ${(e?.views??[]).map(n=>p`<tr key=${n.name}>
              <td><a href=${N(`/views/${encodeURIComponent(n.name)}`)}>${n.name}</a></td>
              <td><${I} state=${n.status.state} /></td>
              <td><${j} value=${n.status.progress} /></td>
              <td>${B(n.status.rows)}</td>
              <td>${n.status.lagMs===null?"\u2014":`${n.status.lagMs} ms`}</td>
              <td>${n.status.parkedCount}</td>
            </tr>`)}
      </tbody>
    </table>
  </section>`}function Xt({view:e}){let[t,n]=v([]),[o,i]=v({column:e.columns[0]??"",op:"eq",value:""}),[s,r]=v(10),[a,d]=v([]),[_,u]=v(null),[h,f]=v(null),l=a.at(-1);P(()=>{let m=new URLSearchParams;for(let $ of t)m.append($.op==="eq"?$.column:`${$.column}[${$.op}]`,$.value);m.set("limit",String(s)),l&&m.set("cursor",l),V(`/v1/views/${encodeURIComponent(e.name)}/rows?${m}`).then($=>{u($),f(null)},f)},[e.name,e.status.state,e.status.rows,t,s,l]);let c=m=>{m.preventDefault(),n([...t,o]),d([])},g=m=>$=>i({...o,[m]:$.target.value});return p`<div data-testid="row-browser">
    <form class="row" onSubmit=${c}>
      <select aria-label="column" onChange=${g("column")}>
        ${e.columns.map(m=>p`<option value=${m} selected=${m===o.column}>${m}</option>`)}
      </select>
      <select aria-label="operator" onChange=${g("op")}>
        ${["eq","gt","gte","lt","lte"].map(m=>p`<option value=${m} selected=${m===o.op}>${m}</option>`)}
      </select>
      <input aria-label="value" value=${o.value} onInput=${g("value")} placeholder="value" />
      <button type="submit">Add filter</button>
      <label
        >Rows per page
        <select
          aria-label="page size"
          onChange=${m=>{r(Number(m.target.value)),d([])}}
        >
          ${[10,25,100].map(m=>p`<option value=${m} selected=${m===s}>${m}</option>`)}
        </select></label
      >
    </form>
    <div class="chips">
      ${t.map((m,$)=>p`<span class="chip"
            >${m.column} ${m.op} ${m.value}
            <button
              aria-label="remove filter"
              onClick=${()=>{n(t.filter((y,k)=>k!==$)),d([])}}
            >
              ×
            </button></span
          >`)}
    </div>
    <${T} error=${h} />
    <table class="grid rows">
      <thead>
        <tr>
          ${e.columns.map(m=>p`<th>${m}${e.key.includes(m)?p` <span class="muted">(key)</span>`:null}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${(_?.rows??[]).map(m=>p`<tr>
              ${e.columns.map($=>p`<td>${m[$]===null||m[$]===void 0?p`<span class="muted">null</span>`:tn(m[$])}</td>`)}
            </tr>`)}
      </tbody>
    </table>
    <div class="row pager">
      <button disabled=${a.length===0} onClick=${()=>d(a.slice(0,-1))}>
        Previous
      </button>
      <span class="muted" data-testid="page-number">page ${a.length+1}</span>
      <button disabled=${!_?.next} onClick=${()=>_?.next&&d([...a,_.next])}>
        Next
      </button>
    </div>
  </div>`}var Zt={insert:"insert",update:"update",delete:"delete"};function xt({name:e}){let{data:t,error:n}=R(`/v1/views/${encodeURIComponent(e)}`);return p`<section>
    <${E} title=${`View ${e}`} />
    <${T} error=${n} />
    ${t?p`<dl class="facts">
              <dt>State</dt>
              <dd><${I} state=${t.status.state} /> <${j} value=${t.status.progress} /></dd>
              <dt>Rows</dt>
              <dd>${B(t.status.rows)}</dd>
              <dt>Lag</dt>
              <dd>${t.status.lagMs??"\u2014"} ms</dd>
              <dt>Parked</dt>
              <dd>${t.status.parkedCount}</dd>
              <dt>Key</dt>
              <dd>${t.key.join(", ")}</dd>
            </dl>
            ${t.status.error?p`<div class="error">${t.status.error}</div>`:null}
            <pre class="sql">${t.sql}</pre>
            <h2>Rows</h2>
            ${t.status.state==="ready"?p`<${Xt} view=${t} />`:p`<p class="muted">Rows are shown once the view is ready (${t.status.state}).</p>`}
            <h2>Changes</h2>
            <${De}
              path=${`/v1/views/${encodeURIComponent(e)}/changes?from=latest`}
              render=${o=>{let i=o;return p`<span class="op">${Zt[i.op]??i.op}</span> key
                  <code>${JSON.stringify(i.key)}</code>
                  <code class="after">${JSON.stringify(i.after??i.before)}</code>`}}
            />`:null}
  </section>`}function en({sql:e,check:t}){if(!t)return null;if(t.ok)return p`<p class="ok" data-testid="sql-check">
      ✓
      compiles${t.tables?.length?`: reads ${t.tables.join(", ")}`:""}${t.waitingFor?.length?` (will wait for ${t.waitingFor.join(", ")})`:""}
    </p>`;let n=t.error,o=n.line!==null?e.split(`
`)[n.line-1]:void 0;return p`<div class="error" data-testid="sql-check" role="alert">
    <strong>${n.code}</strong>${n.line!==null?` at line ${n.line}, column ${n.column}`:""}: ${n.message}
    ${o!==void 0&&n.column!==null?p`<pre class="caret">
${o}
${" ".repeat(Math.max(0,n.column-1))}^</pre>`:null}
  </div>`}function St(){let[e,t]=v("CREATE VIEW my_view AS SELECT "),[n,o]=v(null),[i,s]=v(null),[r,a]=v(!1),d=rt(0);return P(()=>{let u=++d.current,h=setTimeout(()=>{Q("/v1/views/check",{sql:e}).then(f=>u===d.current&&o(f),f=>u===d.current&&s(f))},250);return()=>clearTimeout(h)},[e]),p`<section>
    <${E} title="Declare a view" />
    <p class="muted">
      A SQL join over the topics (<code>source.schema.table</code>), kept up to date as they change.
    </p>
    <form class="form" onSubmit=${async u=>{u.preventDefault(),a(!0),s(null);try{let h=await Q("/v1/views",{sql:e});location.hash=N(`/views/${encodeURIComponent(h.name)}`)}catch(h){s(h)}finally{a(!1)}}} data-testid="declare-view">
      <textarea
        name="sql"
        rows="8"
        spellcheck="false"
        value=${e}
        onInput=${u=>t(u.target.value)}
      ></textarea>
      <${en} sql=${e} check=${n} />
      <${T} error=${i} />
      <button type="submit" disabled=${r||n?.ok===!1}>
        ${r?"Declaring\u2026":"Declare"}
      </button>
    </form>
  </section>`}var tn=e=>typeof e=="string"?e:JSON.stringify(e);function nn(){let[e,t]=v(location.hash);return P(()=>{let n=()=>t(location.hash);return addEventListener("hashchange",n),()=>removeEventListener("hashchange",n)},[]),e.replace(/^#/,"")||"/sources"}function on({onSignIn:e,notice:t}){let[n,o]=v(""),[i,s]=v(null),[r,a]=v(!1);return p`<main class="signin">
    <form class="form" data-testid="sign-in" onSubmit=${_=>{_.preventDefault();let u=n.trim();if(u===""){s("Enter a token: the admin token, or a service token an admin created (POST /v1/tokens).");return}a(!0),fetch("/v1/status",{headers:{accept:"application/json",authorization:`Bearer ${u}`}}).then(async h=>{if(a(!1),h.ok){let l=await h.json();return e({token:u,admin:l.principal?.admin===!0})}let f=await h.json().catch(()=>({}));s(h.status===401?`The API does not accept this token (${f.code??"401"}): it is unknown, expired or revoked.`:`The API answered ${h.status}${f.code?` ${f.code}`:""}: ${f.message??h.statusText}`)}).catch(h=>{a(!1),s(`The API did not answer: ${String(h)}`)})}}>
      <h1>datamesh</h1>
      <p class="muted">
        Sign in with a token: the admin token, or your service's token. It is kept for this tab only.
      </p>
      ${t?p`<div class="notice" role="status" data-testid="sign-in-notice">${t}</div>`:null}
      ${i?p`<div class="error" data-testid="sign-in-error">${i}</div>`:null}
      <label
        >Token
        <input
          name="token"
          type="password"
          autocomplete="off"
          value=${n}
          onInput=${_=>o(_.target.value)}
      /></label>
      <button type="submit" disabled=${r}>Sign in</button>
    </form>
  </main>`}function sn({path:e}){let[,t,n]=/^\/([^/]*)\/?(.*)$/.exec(e)??[],o=n?decodeURIComponent(n):"";switch(t){case"sources":return o==="new"?p`<${vt} />`:o?p`<${$t} name=${o} />`:p`<${gt} />`;case"topics":return o?p`<${wt} topic=${o} />`:p`<${bt} />`;case"views":return o==="new"?p`<${St} />`:o?p`<${xt} name=${o} />`:p`<${kt} />`;case"lineage":return p`<${ht} />`;case"audit":return p`<${_t} />`;default:return p`<section>
        <h1>Not found</h1>
        <p>No page ${e}.</p>
      </section>`}}function rn(){let[e,t]=v(Ce()),[n,o]=v(null),i=nn();if(P(()=>{let a=d=>{let _=d.detail;ce(null),t(null),o(`Signed out: the API refused the token (${_.code}). ${_.message}`)};return addEventListener(ue,a),()=>removeEventListener(ue,a)},[]),!e)return p`<${on}
      notice=${n}
      onSignIn=${a=>{ce(a),o(null),t(a)}}
    />`;let s=i.split("/")[1]??"",r=[["sources","Sources"],["topics","Topics"],["views","Views"],["lineage","Lineage"],...e.admin?[["audit","Audit"]]:[]];return p`<div class="app">
    <header>
      <a class="brand" href="#/sources">datamesh</a>
      <nav>
        ${r.map(([a,d])=>p`<a href=${`#/${a}`} class=${s===a?"active":""}>${d}</a>`)}
      </nav>
      <span class="who" data-testid="who"
        >${e.admin?"signed in as admin":"signed in with a service token"}</span
      >
      <button
        class="link"
        onClick=${()=>{ce(null),o("Signed out."),t(null)}}
      >
        Sign out
      </button>
    </header>
    <main><${sn} path=${i} /></main>
  </div>`}ye(p`<${rn} />`,document.getElementById("app"));
